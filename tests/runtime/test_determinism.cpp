// Bit-identical outputs: across runs, thread counts (1, 2, 3) and batch compositions, for f32 and q8
// models, on every route, with and without token skipping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "tests/runtime/mixed_route.h"
#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

// A result reduced to what must be identical (timings excluded), probabilities compared bitwise.
struct Snapshot {
  int cls;
  uint32_t route, review, tokens;
  std::vector<float> probs;
  bool operator==(const Snapshot& o) const {
    return cls == o.cls && route == o.route && review == o.review && tokens == o.tokens && probs.size() == o.probs.size() &&
           std::memcmp(probs.data(), o.probs.data(), probs.size() * sizeof(float)) == 0;
  }
};

Snapshot snap(const triage_result& r, int ncls) {
  return {r.class_index, r.route, r.review, r.tokens, std::vector<float>(r.probabilities, r.probabilities + ncls)};
}

std::vector<TestImage> images(int n) {
  std::vector<TestImage> v;
  for (int i = 0; i < n; ++i) v.push_back(make_random_image(500 + i, 40 + 11 * i % 50, 90 - 9 * i % 40, 1, i % 4 == 3));
  return v;
}

std::vector<Snapshot> run_all(const std::vector<uint8_t>& model, const std::vector<TestImage>& imgs, uint32_t threads,
                              uint32_t force, uint32_t batch) {
  triage_options o = options(threads, batch, force);
  triage_model* m = nullptr;
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_OK) << triage_open_error();
  triage_model_info info;
  info.struct_size = sizeof(info);
  EXPECT_EQ(triage_get_info(m, &info), TRIAGE_OK);
  std::vector<Snapshot> out;
  for (size_t i = 0; i < imgs.size(); i += batch) {
    const size_t n = std::min<size_t>(batch, imgs.size() - i);
    std::vector<triage_image> v;
    for (size_t j = 0; j < n; ++j) v.push_back(view(imgs[i + j]));
    std::vector<triage_result> r(n);
    EXPECT_EQ(triage_classify_batch(m, v.data(), n, r.data()), TRIAGE_OK) << triage_last_error(m);
    for (size_t j = 0; j < n; ++j) out.push_back(snap(r[j], static_cast<int>(info.num_classes)));
  }
  triage_close(m);
  return out;
}

class Determinism : public ::testing::TestWithParam<std::string> {};

void check_bits(const RandomModelSpec& spec) {
  const std::vector<TestImage> imgs = images(12);
  const std::vector<uint8_t> model = mixed_route_model(spec, imgs);
  for (uint32_t force : {TRIAGE_FORCE_NONE, TRIAGE_FORCE_COARSE, TRIAGE_FORCE_FINE, TRIAGE_FORCE_FINE_ALL}) {
    const std::vector<Snapshot> ref = run_all(model, imgs, 1, force, 1);
    if (force == TRIAGE_FORCE_NONE) {
      const auto fine = std::count_if(ref.begin(), ref.end(), [](const Snapshot& s) { return s.route == TRIAGE_ROUTE_FINE; });
      EXPECT_GT(fine, 0);
      EXPECT_LT(fine, static_cast<long>(ref.size())) << "routed run should mix coarse exits and escalations";
    }
    EXPECT_TRUE(ref == run_all(model, imgs, 1, force, 1)) << "second run differs, force " << force;
    for (uint32_t threads : {2u, 3u})
      EXPECT_TRUE(ref == run_all(model, imgs, threads, force, 1)) << threads << " threads differ, force " << force;
    for (uint32_t batch : {5u, 12u})
      for (uint32_t threads : {1u, 3u})
        EXPECT_TRUE(ref == run_all(model, imgs, threads, force, batch))
            << "batch " << batch << " x " << threads << " threads differs from single images, force " << force;
  }
}

TEST_P(Determinism, RunsThreadsAndBatchesAgreeBitForBit) {
  RandomModelSpec spec;
  spec.dtype = GetParam();
  check_bits(spec);
}

// Token skipping in both passes (the kept / fused tokens differ per image inside a batch).
TEST_P(Determinism, TokenSkippingAgreesBitForBit) {
  RandomModelSpec spec;
  spec.dtype = GetParam();
  spec.meta_i64 = {{"arch.keep_coarse", 6}, {"arch.skip_layer", 1}, {"arch.keep_fine", 2}};
  check_bits(spec);
}

TEST_P(Determinism, VitRunsAndThreadsAgree) {
  RandomModelSpec s;
  s.arch = "vit";
  s.dtype = GetParam();
  const std::vector<uint8_t> model = make_random_model(s);
  const std::vector<TestImage> imgs = images(6);
  const std::vector<Snapshot> ref = run_all(model, imgs, 1, TRIAGE_FORCE_NONE, 1);
  EXPECT_TRUE(ref == run_all(model, imgs, 3, TRIAGE_FORCE_NONE, 1));
  EXPECT_TRUE(ref == run_all(model, imgs, 2, TRIAGE_FORCE_NONE, 4));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Determinism, ::testing::Values("f32", "q8"));

}  // namespace
}  // namespace triage::test
