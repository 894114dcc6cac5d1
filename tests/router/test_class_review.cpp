// Per-class review thresholds (tools/calibrate/class_review.h) on synthetic score tables whose answer is
// known by construction: the laxest threshold meeting a purity target, the rejection cap, small classes.
#include <gtest/gtest.h>

#include "tools/calibrate/class_review.h"
#include "tools/calibrate/routed_counts.h"
#include "tests/router/score_tables.h"

namespace triage::calib {
namespace {

// Three classes, no good class; every image exits at the coarse pass (coarse_defect 0.3) with the
// decided class `cls` at probability p; label says whether it is right.
struct Table {
  ScoreTable t;
  size_t next = 0;
  explicit Table(size_t n) : t(three_class_table(n)) {}
  void add(int cls, float p, bool right) {
    const size_t i = next++;
    t.label[i] = right ? cls : (cls + 1) % 3;
    for (int k = 0; k < 3; ++k) t.coarse[i * 3 + k] = t.fine[i * 3 + k] = k == cls ? p : (1 - p) / 2;
  }
};

rt::RouterThresholds exits_all() {
  rt::RouterThresholds th;
  th.calibrated = true;
  th.coarse_defect = 0.3;
  th.review = 0.6;
  return th;
}

// Class a: 40 decisions at P = 0.40 + 0.01 i (i = 0..39); the 10 least confident (i < 10) are wrong.
// Purity 75% over all; accepting P >= 0.50 (i >= 10) gives 30/30 = 100%. Class b: 40 right decisions at
// 0.9 (purity 100% at threshold 0). Class c: 5 decisions (too few).
Table known() {
  Table tb(85);
  for (int i = 0; i < 40; ++i) tb.add(0, 0.40f + 0.01f * static_cast<float>(i), i >= 10);
  for (int i = 0; i < 40; ++i) tb.add(1, 0.9f, true);
  for (int i = 0; i < 5; ++i) tb.add(2, 0.5f, i > 0);
  return tb;
}

TEST(ClassReview, LaxestThresholdMeetingThePurityTarget) {
  const Table tb = known();
  ClassReviewOptions o;
  o.target_purity = 0.9;  // class a: accept i >= 7 (30 right of 33 = 90.9%); i >= 6 is 30/34 = 88.2%
  const std::vector<ClassReview> r = choose_class_review(tb.t, exits_all(), o);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].decided, 40u);
  EXPECT_FLOAT_EQ(static_cast<float>(r[0].threshold), 0.47f);
  EXPECT_EQ(r[0].accepted, 33u);
  EXPECT_EQ(r[0].accepted_correct, 30u);
  EXPECT_NEAR(r[0].rejection, 7.0 / 40, 1e-12);
  EXPECT_TRUE(r[0].target_met);
  EXPECT_LT(r[0].purity_lower, r[0].purity);
  EXPECT_EQ(r[1].threshold, 0.0);  // already pure: review nothing
  EXPECT_EQ(r[1].rejection, 0.0);
  EXPECT_EQ(r[2].threshold, 0.6);  // 5 decisions: the global threshold
  EXPECT_NE(r[2].status.find("insufficient"), std::string::npos);
  // The thresholds, stored, give the engine's rule these rejections on the same table.
  rt::RouterThresholds th = exits_all();
  const std::vector<double> crt = class_review_thresholds(r);
  th.class_review.assign(crt.begin(), crt.end());
  uint64_t reviewed_a = 0;
  for (size_t i = 0; i < tb.t.size(); ++i) {
    const Routed x = route_image(tb.t.coarse_row(i), tb.t.fine_row(i), 3, -1, th);
    reviewed_a += x.cls == 0 && x.review;
  }
  EXPECT_EQ(reviewed_a, 7u);
}

TEST(ClassReview, RejectionCapWinsOverThePurityTarget) {
  const Table tb = known();
  ClassReviewOptions o;
  o.target_purity = 0.99;  // needs i >= 10 (25% rejected) ...
  o.max_reject = 0.1;      // ... but only 4 of 40 may go to review
  const std::vector<ClassReview> r = choose_class_review(tb.t, exits_all(), o);
  EXPECT_FLOAT_EQ(static_cast<float>(r[0].threshold), 0.44f);
  EXPECT_EQ(r[0].accepted, 36u);
  EXPECT_FALSE(r[0].target_met);
  EXPECT_NE(r[0].status.find("capped"), std::string::npos);
}

TEST(ClassReview, MaxRejectAloneTakesTheStrictestWithinBudget) {
  const Table tb = known();
  ClassReviewOptions o;
  o.max_reject = 0.25;
  const std::vector<ClassReview> r = choose_class_review(tb.t, exits_all(), o);
  EXPECT_FLOAT_EQ(static_cast<float>(r[0].threshold), 0.50f);  // 10 of 40 rejected: exactly the budget
  EXPECT_EQ(r[0].purity, 1.0);
  // Class b's decisions all share one confidence: rejecting any rejects all, over budget: threshold 0.
  EXPECT_EQ(r[1].threshold, 0.0);
}

}  // namespace
}  // namespace triage::calib
