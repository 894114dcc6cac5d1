// The per-op breakdown of the passes (runtime/op_profile.h, bench_e2e --breakdown; issue 19): attaching a
// profile changes no output bit; every op class a pass runs is timed and counted into that pass; the
// counted multiply-accumulates are the model's; the ops cover the classify call; detaching stops it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "runtime/op_profile_access.h"
#include "runtime/triage.h"
#include "tests/runtime/random_model.h"
#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

using rt::Op;

TEST(OpProfile, CountsEveryOpOfBothPassesAndChangesNoBit) {
  RandomModelSpec s;
  s.dtype = "q8";
  const std::vector<uint8_t> bytes = make_random_model(s);
  const int n = 6;
  std::vector<TestImage> imgs;
  for (int i = 0; i < n; ++i) imgs.push_back(make_random_image(40 + i, 50 + i, 61 - i, 1, i % 2 == 1));
  auto run = [&](rt::OpProfile* p, std::vector<float>& probs, double& wall) {
    triage_model* m = nullptr;
    triage_options o = options(2, 1, TRIAGE_FORCE_FINE);
    ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_OK) << triage_open_error();
    rt::attach_op_profile(m, p);
    wall = 0;
    for (const TestImage& t : imgs) {
      const triage_image v = view(t);
      triage_result r{};
      const auto t0 = std::chrono::steady_clock::now();
      ASSERT_EQ(triage_classify(m, &v, &r), TRIAGE_OK);
      wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      probs.insert(probs.end(), r.probabilities, r.probabilities + s.ncls);
    }
    rt::attach_op_profile(m, nullptr);
    const triage_image v = view(imgs[0]);
    triage_result r{};
    ASSERT_EQ(triage_classify(m, &v, &r), TRIAGE_OK);  // detached: not counted
    triage_close(m);
  };
  rt::OpProfile prof;
  std::vector<float> off, on;
  double wall_off = 0, wall_on = 0;
  run(nullptr, off, wall_off);
  run(&prof, on, wall_on);
  ASSERT_EQ(off.size(), on.size());
  EXPECT_EQ(std::memcmp(off.data(), on.data(), off.size() * sizeof(float)), 0) << "profiling changed an output";
  EXPECT_EQ(prof.images[0], static_cast<uint64_t>(n));
  EXPECT_EQ(prof.images[1], static_cast<uint64_t>(n));
  for (Op op : {Op::Preprocess, Op::Stem, Op::PatchProj, Op::LayerNorm, Op::Qkv, Op::Attention, Op::Proj, Op::Fc1, Op::Fc2,
                Op::Head, Op::Route}) {
    EXPECT_GT(prof.seconds[0][static_cast<int>(op)], 0.0) << "coarse " << rt::op_name(op);
    EXPECT_GT(prof.seconds[1][static_cast<int>(op)], 0.0) << "fine " << rt::op_name(op);
  }
  EXPECT_GT(prof.seconds[1][static_cast<int>(Op::Reuse)], 0.0);
  EXPECT_EQ(prof.seconds[0][static_cast<int>(Op::Reuse)], 0.0) << "the coarse pass has no reuse step";
  // MACs of the coarse pass's QKV: L layers x (1 + Gc) tokens x D x 3D per image.
  const int Gc = (s.Sf / 2 / s.P) * (s.Sf / 2 / s.P);
  EXPECT_DOUBLE_EQ(prof.macs[0][static_cast<int>(Op::Qkv)], double(n) * s.L * (1 + Gc) * s.D * 3.0 * s.D);
  EXPECT_DOUBLE_EQ(prof.macs[0][static_cast<int>(Op::Fc2)], double(n) * s.L * (1 + Gc) * s.D * double(s.mlp_ratio * s.D));
  EXPECT_DOUBLE_EQ(prof.macs[0][static_cast<int>(Op::Head)], double(n) * s.D * s.ncls);
  // The timed ops lie inside the classify calls and cover most of them.
  double timed = 0;
  for (int p = 0; p < 2; ++p)
    for (int op = 0; op < rt::kOpCount; ++op) timed += prof.seconds[p][op];
  EXPECT_LE(timed, wall_on);
  EXPECT_GE(timed, 0.5 * wall_on);
  EXPECT_STREQ(rt::op_name(Op::Fc1), "fc1_gelu");
}

}  // namespace
}  // namespace triage::test
