// Learn-then-Test on synthetic score tables: the threshold it must pick when the answer is known by
// construction, refusals, per-class constraints, and (by simulation) its family-wise guarantee.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tools/calibrate/learn_then_test.h"
#include "tools/cli/stats.h"

namespace triage::calib {
namespace {

// Three classes: 0 = good, 1 and 2 defects. Rows are set with set().
struct Table {
  ScoreTable t;
  explicit Table(size_t n) {
    t.ncls = 3;
    t.good = 0;
    t.class_names = {"good", "d1", "d2"};
    t.label.assign(n, 0);
    t.coarse.assign(n * 3, 0.f);
    t.fine.assign(n * 3, 0.f);
  }
  // P(good) at the coarse / fine pass; the rest goes to the image's defect class (or d1 for a good one).
  void set(size_t i, int label, float pc_good, float pf_good) {
    t.label[i] = label;
    const int d = label == 0 ? 1 : label;
    t.coarse[i * 3] = pc_good;
    t.coarse[i * 3 + d] = 1 - pc_good;
    t.fine[i * 3] = pf_good;
    t.fine[i * 3 + d] = 1 - pf_good;
  }
};

// 3000 defective images (never good at the fine pass; coarse P(good) 0.2: they escalate) of which three look good
// to the coarse pass at 0.9995, 0.995 and 0.95; 1000 good images at coarse P(good) 0.99999.
Table known_table() {
  Table tb(4000);
  for (size_t i = 0; i < 3000; ++i) tb.set(i, 1 + static_cast<int>(i % 2), 0.2f, 0.0f);
  tb.t.coarse[0 * 3] = 0.9995f, tb.t.coarse[0 * 3 + 1] = 0.0005f;
  tb.t.coarse[1 * 3] = 0.995f, tb.t.coarse[1 * 3 + 2] = 0.005f;
  tb.t.coarse[2 * 3] = 0.95f, tb.t.coarse[2 * 3 + 1] = 0.05f;
  for (size_t i = 3000; i < 4000; ++i) tb.set(i, 0, 0.99999f, 0.99f);
  return tb;
}

TEST(LearnThenTest, PicksTheLaxestCoarseThresholdBeforeTheFirstFailure) {
  const Table tb = known_table();
  LttOptions o;
  o.target_escape = 0.002;  // 3000 defective: 1 escape -> bound 0.00158 passes, 2 -> 0.0021 fails
  o.confidence = 0.95;
  o.class_target_escape = 0.5;  // per-class constraints inactive here
  o.fine_grid = {0.5};
  const LttResult r = learn_then_test(tb.t, o);
  ASSERT_TRUE(r.ok) << r.refusal;
  // Grid 1 - 10^-(x/10): from 0.999499 (x = 33) on, the 0.9995 image escapes; certified down to
  // 0.99602 (x = 24), the last value above 0.995; at 0.99499 two escape. Every certified value from
  // x = 33 to 24 escalates the same images: the tie goes to the stricter one.
  EXPECT_DOUBLE_EQ(r.chosen.th.coarse_good, 1.0 - std::pow(10.0, -3.3));
  EXPECT_EQ(r.chosen.th.fine_good, 0.5);
  EXPECT_EQ(r.chosen.counts.escapes, 1u);
  EXPECT_EQ(r.chosen.counts.escalated_good, 0u);  // every good image exits at the coarse pass
  ASSERT_EQ(r.sequences.size(), 1u);
  const Trial& stop = r.sequences[0].back();
  EXPECT_FALSE(stop.certified);
  EXPECT_EQ(stop.counts.escapes, 2u);
  EXPECT_DOUBLE_EQ(stop.th.coarse_good, 1.0 - std::pow(10.0, -2.3));
  EXPECT_EQ(r.certified, r.sequences[0].size() - 1);
  EXPECT_EQ(r.alpha_test, 1 - 0.95);
}

TEST(LearnThenTest, BonferroniOverFineValuesMakesEachTestStricter) {
  const Table tb = known_table();
  LttOptions o;
  o.target_escape = 0.002;
  o.confidence = 0.95;
  o.class_target_escape = 0.5;
  o.fine_grid = {0.5, 0.9, 0.99, 0.999};  // m = 4: each test at 0.0125, where 1 escape in 3000 fails
  const LttResult r = learn_then_test(tb.t, o);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_NEAR(r.alpha_test, 0.05 / 4, 1e-15);
  EXPECT_GT(cli::clopper_pearson_upper(1, 3000, 1 - 0.0125), 0.002);
  EXPECT_EQ(r.chosen.counts.escapes, 0u);
  // Certified down to 0.99960 (x = 34, the last value above 0.9995); escalations stop falling at
  // 0.9999874 (x = 49), where the good images (0.99999) exit: the stricter of the tied values.
  EXPECT_DOUBLE_EQ(r.chosen.th.coarse_good, 1.0 - std::pow(10.0, -4.9));
  EXPECT_DOUBLE_EQ(r.sequences[0].back().th.coarse_good, 1.0 - std::pow(10.0, -3.3));
  // Every fine value reaches the same pair with the same escalations and over-rejects: the stricter wins.
  EXPECT_EQ(r.sequences.size(), 4u);
  EXPECT_EQ(r.chosen.th.fine_good, 0.999);
}

TEST(LearnThenTest, RefusesWhenTheSampleCannotSupportTheBound) {
  Table tb(150);
  for (size_t i = 0; i < 100; ++i) tb.set(i, 1, 0.0f, 0.0f);
  for (size_t i = 100; i < 150; ++i) tb.set(i, 0, 1.0f, 1.0f);
  LttOptions o;
  o.target_escape = 0.01;
  o.confidence = 0.95;
  o.fine_grid = {0.5};
  const LttResult r = learn_then_test(tb.t, o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.n_required, 299u);
  EXPECT_NE(r.refusal.find("299"), std::string::npos) << r.refusal;
  EXPECT_TRUE(r.sequences.empty());  // nothing was even tested
  o.fine_grid = {0.5, 0.9};          // the search's own need is larger
  const LttResult r2 = learn_then_test(tb.t, o);
  EXPECT_EQ(r2.n_required_search, cli::min_n_zero_events(0.01, 1 - 0.025));
}

TEST(LearnThenTest, RefusesWhenEvenTheStrictestPairEscapes) {
  Table tb(1200);
  for (size_t i = 0; i < 1000; ++i) tb.set(i, 2, 0.3f, i < 30 ? 0.9999f : 0.0f);  // 3% escape at the fine pass
  for (size_t i = 1000; i < 1200; ++i) tb.set(i, 0, 1.0f, 1.0f);
  LttOptions o;
  o.target_escape = 0.01;
  o.confidence = 0.95;
  const LttResult r = learn_then_test(tb.t, o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.certified, 0u);
  EXPECT_NE(r.refusal.find("30 escapes in 1000"), std::string::npos) << r.refusal;
}

TEST(LearnThenTest, ADefectClassWithEnoughImagesIsBoundedOnItsOwn) {
  // 2600 d1 + 400 d2; three d2 images look good to the coarse pass. Overall target loose (5%), per
  // class 1%: d2 (n 400 >= 299 at 95%) allows 0 escapes (1 in 400 bounds at 1.18%).
  Table tb(3200);
  for (size_t i = 0; i < 3000; ++i) tb.set(i, i < 2600 ? 1 : 2, 0.05f, 0.0f);
  for (size_t i : {2600u, 2601u, 2602u}) tb.set(i, 2, i == 2600 ? 0.99995f : 0.9995f, 0.0f);
  for (size_t i = 3000; i < 3200; ++i) tb.set(i, 0, 0.9f, 0.9f);
  LttOptions o;
  o.target_escape = 0.05;
  o.class_target_escape = 0.01;
  o.confidence = 0.95;
  o.fine_grid = {0.5};
  const LttResult r = learn_then_test(tb.t, o);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_EQ(r.class_min_n, 299u);
  EXPECT_EQ(r.chosen.counts.escapes, 0u);
  EXPECT_GT(r.chosen.th.coarse_good, 0.99995);
  const auto cb = class_bounds(tb.t, r.chosen.counts, 0.95, r.class_min_n);
  ASSERT_EQ(cb.size(), 2u);
  EXPECT_TRUE(cb[0].tested && cb[1].tested);
  // Without the class constraint the overall target alone lets all three escape.
  o.class_target_escape = 0.5;
  const LttResult loose = learn_then_test(tb.t, o);
  ASSERT_TRUE(loose.ok);
  EXPECT_EQ(loose.chosen.counts.escapes, 3u);
  EXPECT_LT(loose.chosen.th.coarse_good, 0.9);
}

TEST(LearnThenTest, SmallClassesAreReportedNotTested) {
  Table tb(3100);
  for (size_t i = 0; i < 3000; ++i) tb.set(i, i < 2950 ? 1 : 2, 0.05f, 0.0f);  // d2: 50 images
  tb.set(2950, 2, 0.99f, 0.0f);  // one d2 escape below 0.99: 2% of the class, but not bounded alone
  for (size_t i = 3000; i < 3100; ++i) tb.set(i, 0, 0.9f, 0.9f);
  LttOptions o;
  o.target_escape = 0.002;
  o.class_target_escape = 0.01;
  o.confidence = 0.95;
  o.fine_grid = {0.5};
  const LttResult r = learn_then_test(tb.t, o);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_EQ(r.chosen.counts.escapes, 1u);
  const auto cb = class_bounds(tb.t, r.chosen.counts, 0.95, r.class_min_n);
  EXPECT_TRUE(cb[0].tested);
  EXPECT_FALSE(cb[1].tested);
  EXPECT_EQ(cb[1].n, 50u);
  EXPECT_EQ(cb[1].escapes, 1u);
}

TEST(LearnThenTest, OverRejectCapFiltersTheChoice) {
  Table tb = known_table();
  tb.set(3999, 0, 0.05f, 0.99f);  // a good image the coarse pass calls d1 at 0.95: always over-rejected
  LttOptions o;
  o.target_escape = 0.002;
  o.confidence = 0.95;
  o.class_target_escape = 0.5;
  o.fine_grid = {0.5};
  o.max_over_reject = 0.01;
  const LttResult r = learn_then_test(tb.t, o);
  ASSERT_TRUE(r.ok) << r.refusal;
  EXPECT_EQ(r.chosen.counts.over_rejects, 1u);
  o.max_over_reject = 0;
  const LttResult capped = learn_then_test(tb.t, o);
  EXPECT_FALSE(capped.ok);
  EXPECT_EQ(capped.certified, r.certified);
  EXPECT_NE(capped.refusal.find("over-reject more than"), std::string::npos) << capped.refusal;
}

// Validity: defective images whose coarse P(good) is uniform on (0, 1) escape at rate 1 - cg exactly;
// over many independent calibration sets, the chosen threshold's true escape rate may exceed the
// target in at most a fraction 1 - C of them (plus sampling slack).
TEST(LearnThenTest, FamilyWiseErrorIsControlledBySimulation) {
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  const double e = 0.05, c = 0.9;
  const int runs = 400;
  int violations = 0, ok = 0;
  for (int run = 0; run < runs; ++run) {
    Table tb(250);
    for (size_t i = 0; i < 200; ++i) tb.set(i, 1, u(rng), 0.0f);
    for (size_t i = 200; i < 250; ++i) tb.set(i, 0, 0.999f, 0.999f);
    LttOptions o;
    o.target_escape = e;
    o.confidence = c;
    o.class_target_escape = 0.9;
    o.fine_grid = {0.5};
    const LttResult r = learn_then_test(tb.t, o);
    if (!r.ok) continue;
    ++ok;
    const double true_rate = r.chosen.th.coarse_good > 1 ? 0.0 : 1.0 - r.chosen.th.coarse_good;
    violations += true_rate > e;
  }
  EXPECT_GT(ok, runs / 2);
  const double slack = 3 * std::sqrt((1 - c) * c / runs);
  EXPECT_LE(static_cast<double>(violations) / runs, (1 - c) + slack) << violations << " of " << runs;
}

}  // namespace
}  // namespace triage::calib
