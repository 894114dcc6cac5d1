// The OOD thresholds of `triage calibrate --ood-false-flag` (tools/calibrate/ood_threshold.h): the
// split-conformal ranks and bounds, refusal when the set is too small, and the guarantee itself: fresh
// in-distribution draws are flagged at no more than the target rate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "runtime/router.h"
#include "tests/router/score_tables.h"
#include "tools/calibrate/ood_threshold.h"

namespace triage::calib {
namespace {

std::vector<float> iota_scores(size_t n) {  // 1, 2, ..., n shuffled
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i + 1);
  std::shuffle(v.begin(), v.end(), std::mt19937(7));
  return v;
}

TEST(OodThreshold, ConformalRankAndBound) {
  // n = 99, alpha 0.01: k = ceil(100 * 0.99) = 99, the largest score; bound (100 - 99) / 100.
  OodThreshold t = conformal_threshold(iota_scores(99), 0.01);
  ASSERT_TRUE(t.ok) << t.why;
  EXPECT_EQ(t.rank, 99u);
  EXPECT_EQ(t.threshold, 99.0);
  EXPECT_DOUBLE_EQ(t.bound, 0.01);
  EXPECT_EQ(t.flagged, 0.0);
  // n = 1000, alpha 0.05: k = ceil(1001 * 0.95) = 951 (950.95 rounds up); 49 of 1000 above.
  t = conformal_threshold(iota_scores(1000), 0.05);
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(t.rank, 951u);
  EXPECT_EQ(t.threshold, 951.0);
  EXPECT_NEAR(t.bound, 50.0 / 1001.0, 1e-12);
  EXPECT_DOUBLE_EQ(t.flagged, 0.049);
  EXPECT_LE(t.bound, 0.05);
}

TEST(OodThreshold, TooFewImagesAreRefused) {
  EXPECT_FALSE(conformal_threshold(iota_scores(98), 0.01).ok);  // k = ceil(99 * 0.99) = 99 > 98
  EXPECT_FALSE(conformal_threshold({}, 0.1).ok);
  EXPECT_FALSE(conformal_threshold(iota_scores(50), 0.0).ok);
  const OodRange r = conformal_range(iota_scores(98), 0.02);    // floor(0.01 * 99) = 0
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.why.find("need at least 99"), std::string::npos) << r.why;
}

TEST(OodThreshold, RangeTakesTheKthMostExtremeOnEachSide) {
  // n = 999, alpha 0.02: k = floor(0.01 * 1000) = 10: lo the 10th smallest, hi the 10th largest.
  const OodRange r = conformal_range(iota_scores(999), 0.02);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.k, 10u);
  EXPECT_EQ(r.lo, 10.0);
  EXPECT_EQ(r.hi, 990.0);
  EXPECT_DOUBLE_EQ(r.bound, 0.02);
}

TEST(OodThreshold, FreshInDistributionDrawsAreFlaggedAtMostAtTheTarget) {
  // The guarantee is over the calibration draw too: average the realised false-flag rate over many
  // calibration sets (n = 400, alpha = 0.05) and compare with the target; a threshold one rank too
  // low (or the wrong side of the range) would exceed it clearly.
  std::mt19937_64 rng(11);
  std::normal_distribution<float> g(0.f, 1.f);
  const double alpha = 0.05;
  double e_sum = 0, r_sum = 0;
  const int sets = 200, fresh = 2000;
  for (int s = 0; s < sets; ++s) {
    std::vector<float> cal(400);
    for (float& v : cal) v = g(rng);
    const OodThreshold t = conformal_threshold(cal, alpha);
    const OodRange r = conformal_range(cal, alpha);
    ASSERT_TRUE(t.ok && r.ok);
    int e = 0, out = 0;
    for (int i = 0; i < fresh; ++i) {
      const float v = g(rng);
      e += v > t.threshold;
      out += v < r.lo || v > r.hi;
    }
    e_sum += static_cast<double>(e) / fresh;
    r_sum += static_cast<double>(out) / fresh;
  }
  // Expected rates: (401 - 381) / 401 = 4.99% and 2 * 10 / 401 = 4.99%; the sampling error of the
  // means is ~0.1 point.
  EXPECT_LE(e_sum / sets, alpha + 0.004);
  EXPECT_GE(e_sum / sets, alpha - 0.01) << "not needlessly strict either";
  EXPECT_LE(r_sum / sets, alpha + 0.004);
  EXPECT_GE(r_sum / sets, alpha - 0.01);
}

TEST(OodThreshold, CalibrateSetsTheThresholdsAndMeasuresTheRoutedRate) {
  const size_t n = 1000;
  ScoreTable t = three_class_table(n);
  t.coarse_ood = iota_scores(n);
  t.fine_ood = iota_scores(n);
  for (float& v : t.fine_ood) v += 5000;  // the fine pass's scale differs: its own threshold
  t.in_mean.resize(n);
  t.in_std.resize(n);
  for (size_t i = 0; i < n; ++i) {
    t.in_mean[i] = static_cast<float>(i) / n;
    t.in_std[i] = 0.25f + static_cast<float>((i * 7) % n) / (4 * n);
    // half the images exit at the coarse pass (class a at P 0.95), half escalate
    t.coarse[i * 3] = i % 2 ? 0.95f : 0.4f;
    t.coarse[i * 3 + 1] = i % 2 ? 0.05f : 0.6f * 0.5f;
    t.coarse[i * 3 + 2] = 1 - t.coarse[i * 3] - t.coarse[i * 3 + 1];
  }
  rt::RouterThresholds th;
  th.coarse_defect = 0.9;
  const OodCalibration c = calibrate_ood(t, 0.04, th);
  ASSERT_TRUE(c.ok) << c.why;
  EXPECT_TRUE(th.has_ood);
  EXPECT_EQ(th.ood_false_flag, 0.04);
  EXPECT_EQ(th.ood_coarse, 981.0);          // k = ceil(1001 * 0.98) = 981
  EXPECT_EQ(th.ood_fine, 5981.0);
  EXPECT_EQ(c.mean.k, 5u);                   // alpha/8 per tail: floor(0.005 * 1001)
  EXPECT_FLOAT_EQ(static_cast<float>(th.ood_mean_lo), 4.0f / n);
  EXPECT_FLOAT_EQ(static_cast<float>(th.ood_mean_hi), 995.0f / n);
  EXPECT_LE(c.bound, 0.04);
  // The routed rate replays the rule: count it here independently.
  size_t flagged = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool coarse_exit = i % 2 == 1;
    const double e = coarse_exit ? t.coarse_ood[i] : t.fine_ood[i];
    const bool energy = e > (coarse_exit ? th.ood_coarse : th.ood_fine);
    const bool input = t.in_mean[i] < th.ood_mean_lo || t.in_mean[i] > th.ood_mean_hi || t.in_std[i] < th.ood_std_lo ||
                       t.in_std[i] > th.ood_std_hi;
    flagged += energy || input;
  }
  EXPECT_DOUBLE_EQ(c.routed_flagged, static_cast<double>(flagged) / n);
  EXPECT_GT(flagged, 0u);
}

}  // namespace
}  // namespace triage::calib
