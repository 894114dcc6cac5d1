// The fast engine against the scalar oracle on random models (every arch, dtype and route) and on the
// shipped models. Tolerances (norm-wise relative error of the centred logits, i.e. log-probabilities):
//   f32 / f16 / bf16 files: 1e-4 (f32 accumulation-order differences only);
//   q8 files: 1e-1 against the oracle run on the same (dequantised) q8 weights (int8 activations).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "tests/runtime/oracle_runner.h"
#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

constexpr double kTolF32 = 1e-4;
constexpr double kTolQ8 = 1e-1;

struct Case {
  const char* name;
  RandomModelSpec spec;
};

std::vector<Case> cases() {
  std::vector<Case> v;
  RandomModelSpec s;
  v.push_back({"cfvit_f32", s});
  s.dtype = "f16";
  v.push_back({"cfvit_f16", s});
  s.dtype = "bf16";
  v.push_back({"cfvit_bf16", s});
  s.dtype = "q8";
  v.push_back({"cfvit_q8", s});
  RandomModelSpec c2;  // two channels, odd sizes, K = 1, 3 heads of 16
  c2.C = 2;
  c2.Sf = 96;
  c2.P = 16;
  c2.D = 48;
  c2.H = 3;
  c2.K = 1;
  c2.R = 1;
  c2.Dr = 40;
  c2.ncls = 3;
  c2.good = 2;
  c2.seed = 7;
  v.push_back({"cfvit_c2_f32", c2});
  // Token skipping (docs/model-family.md "Token skipping"): Gc 16, K 4, L 3, R 2, so skip_layer 1.
  RandomModelSpec sk;
  sk.seed = 11;
  sk.meta_i64 = {{"arch.keep_coarse", 7}, {"arch.skip_layer", 1}, {"arch.keep_fine", 3}};
  v.push_back({"cfvit_skip_f32", sk});
  sk.dtype = "q8";
  v.push_back({"cfvit_skip_q8", sk});
  RandomModelSpec sc = s;  // coarse skipping alone, keep_coarse = K (the edge)
  sc.dtype = "f32";
  sc.seed = 12;
  sc.meta_i64 = {{"arch.keep_coarse", 4}, {"arch.skip_layer", 1}};
  v.push_back({"cfvit_skip_coarse_f32", sc});
  RandomModelSpec sf = sc;  // fine skipping alone, keep_fine 0: every unselected patch fused
  sf.seed = 13;
  sf.meta_i64 = {{"arch.keep_fine", 0}};
  v.push_back({"cfvit_skip_fine_f32", sf});
  RandomModelSpec s2 = c2;  // odd model: Gc 9, K 1, keep_coarse 1 (= K), skip at the last allowed layer, keep_fine 7
  s2.seed = 14;
  s2.meta_i64 = {{"arch.keep_coarse", 1}, {"arch.skip_layer", 2}, {"arch.keep_fine", 7}};
  v.push_back({"cfvit_c2_skip_f32", s2});
  RandomModelSpec vt;
  vt.arch = "vit";
  vt.Sf = 48;
  vt.P = 8;
  vt.seed = 3;
  v.push_back({"vit_f32", vt});
  vt.dtype = "q8";
  v.push_back({"vit_q8", vt});
  return v;
}

class EngineVsOracle : public ::testing::TestWithParam<Case> {};

TEST_P(EngineVsOracle, AllRoutesMatchTheOracle) {
  const RandomModelSpec& spec = GetParam().spec;
  const std::vector<uint8_t> bytes = make_random_model(spec);
  OracleRunner oracle(bytes);
  const double tol = spec.dtype == "q8" ? kTolQ8 : kTolF32;
  const int n = oracle.config().ncls();
  const std::vector<uint32_t> forces = spec.arch == "vit"
                                           ? std::vector<uint32_t>{TRIAGE_FORCE_NONE}
                                           : std::vector<uint32_t>{TRIAGE_FORCE_NONE, TRIAGE_FORCE_COARSE,
                                                                   TRIAGE_FORCE_FINE, TRIAGE_FORCE_FINE_ALL};
  double worst = 0;
  for (uint32_t force : forces) {
    triage_options o = options(2, 1, force);
    triage_model* m = nullptr;
    ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_OK) << triage_open_error();
    for (int i = 0; i < 6; ++i) {
      const bool u16 = i % 3 == 2;
      const TestImage img = make_random_image(100 + i, 37 + 13 * i, 80 - 7 * i, spec.C, u16);
      const triage_image v = view(img);
      triage_result r;
      ASSERT_EQ(triage_classify(m, &v, &r), TRIAGE_OK) << triage_last_error(m);
      const OracleResult want = oracle.classify(v, force);
      ASSERT_EQ(r.route == TRIAGE_ROUTE_FINE, want.fine) << "image " << i << " force " << force;
      const double err = rel_error(centred_log(r.probabilities, n), centred(want.logits));
      worst = std::max(worst, err);
      EXPECT_LT(err, tol) << "image " << i << " force " << force;
      if (spec.dtype != "q8") {
        EXPECT_EQ(r.class_index, want.cls) << "image " << i << " force " << force;
      }
    }
    triage_close(m);
  }
  std::printf("[ %s ] worst centred-logit error vs oracle: %.3g (tolerance %.0e)\n", GetParam().name, worst, tol);
}

INSTANTIATE_TEST_SUITE_P(Random, EngineVsOracle, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace triage::test
