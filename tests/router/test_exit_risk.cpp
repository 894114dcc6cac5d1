// Calibration of a model without a good class (tools/calibrate/exit_risk.h) on synthetic score tables
// whose answer is known by construction: the laxest coarse_defect threshold before the first failure,
// what counts as an exit error, the refusals.
#include <gtest/gtest.h>

#include <cmath>

#include "tools/calibrate/exit_risk.h"
#include "tools/calibrate/learn_then_test.h"
#include "tests/router/score_tables.h"

namespace triage::calib {
namespace {

// Three defect classes, no good class. set(i, label, coarse top class, its P, fine top class).
struct Table {
  ScoreTable t;
  explicit Table(size_t n) : t(three_class_table(n)) {}
  void set(size_t i, int label, int coarse_cls, float p, int fine_cls) {
    t.label[i] = label;
    for (int k = 0; k < 3; ++k) {
      t.coarse[i * 3 + k] = k == coarse_cls ? p : (1 - p) / 2;
      t.fine[i * 3 + k] = k == fine_cls ? 0.8f : 0.1f;
    }
  }
};

double grid(int x) { return 1.0 - std::pow(10.0, -x / 10.0); }

// 1000 images: all right at both passes with coarse P 0.6 (they escalate until the grid goes below
// 0.6), except two coarse-wrong images at 0.9995 and 0.995 that the fine pass gets right, and one at
// 0.99999 that both passes get wrong (an exit with a wrong class, but not an exit error).
Table known_table() {
  Table tb(1000);
  for (size_t i = 0; i < 1000; ++i) tb.set(i, static_cast<int>(i % 3), static_cast<int>(i % 3), 0.6f, static_cast<int>(i % 3));
  tb.set(0, 0, 1, 0.9995f, 0);
  tb.set(1, 1, 2, 0.995f, 1);
  tb.set(2, 2, 0, 0.99999f, 1);
  return tb;
}

TEST(ExitRisk, PicksTheLaxestThresholdBeforeTheFirstFailure) {
  const Table tb = known_table();
  ExitRiskOptions o;
  o.target = 0.005;  // 1000 images: 1 exit error -> bound 0.0047 passes; 2 -> 0.0063 fails
  o.confidence = 0.95;
  const ExitRiskResult r = calibrate_exit_risk(tb.t, o);
  ASSERT_TRUE(r.ok) << r.refusal;
  // From x = 33 (0.999499) on, image 0 exits wrong: 1 exit error, certified down to x = 24 (0.99602);
  // x = 23 (0.99499) lets image 1 out too: 2 errors, the sequence stops there.
  EXPECT_DOUBLE_EQ(r.chosen.coarse_defect, grid(24));
  EXPECT_EQ(r.chosen.exit_errors, 1u);
  EXPECT_EQ(r.chosen.exit_wrong, 2u);  // image 2 exits wrong at every threshold below 0.99999, fine wrong too
  EXPECT_EQ(r.chosen.exits, 2u);
  EXPECT_FALSE(r.trials.back().certified);
  EXPECT_DOUBLE_EQ(r.trials.back().coarse_defect, grid(23));
  EXPECT_EQ(r.trials.back().exit_errors, 2u);
  EXPECT_DOUBLE_EQ(r.thresholds.coarse_defect, grid(24));
  EXPECT_DOUBLE_EQ(r.thresholds.coarse_good, 2.0);
  EXPECT_TRUE(r.thresholds.calibrated);
  EXPECT_EQ(r.fine_correct, 999u);  // only image 2 is wrong at the fine pass (997 + images 0 and 1)
}

TEST(ExitRisk, ALooserTargetLetsTheConfidentRightImagesOut) {
  const Table tb = known_table();
  ExitRiskOptions o;
  o.target = 0.02;  // 2 exit errors in 1000: bound 0.0063, passes; every grid value is certified
  o.confidence = 0.95;
  const ExitRiskResult r = calibrate_exit_risk(tb.t, o);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_DOUBLE_EQ(r.chosen.coarse_defect, default_coarse_grid().back());
  EXPECT_TRUE(r.trials.back().certified);
  EXPECT_EQ(r.chosen.exits, 1000u);  // 0.6 >= 0.499: everything exits at the coarse pass
  EXPECT_EQ(r.chosen.correct, 997u);
}

TEST(ExitRisk, RefusesTooFewImagesAndModelsWithAGoodClass) {
  Table small(100);
  for (size_t i = 0; i < 100; ++i) small.set(i, 0, 0, 0.99f, 0);
  ExitRiskOptions o;
  o.target = 0.01;  // needs ln(0.05)/ln(0.99) = 299 images
  o.confidence = 0.95;
  ExitRiskResult r = calibrate_exit_risk(small.t, o);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.refusal.find("299"), std::string::npos) << r.refusal;
  EXPECT_EQ(r.n_required, 299u);
  Table with_good = known_table();
  with_good.t.good = 0;
  r = calibrate_exit_risk(with_good.t, o);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.refusal.find("good class"), std::string::npos) << r.refusal;
}

}  // namespace
}  // namespace triage::calib
