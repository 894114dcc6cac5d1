// Router decision rules (runtime/router.h).
#include <gtest/gtest.h>

#include "runtime/router.h"

namespace triage::rt {
namespace {

RouterThresholds th(double cg, double cd, double fg, double rv) {
  RouterThresholds t;
  t.coarse_good = cg;
  t.coarse_defect = cd;
  t.fine_good = fg;
  t.review = rv;
  return t;
}

TEST(Router, CoarseExitsOnConfidentDefect) {
  const float p[] = {0.05f, 0.92f, 0.03f};  // good = 0
  const CoarseDecision d = decide_coarse(p, 3, 0, th(2.0, 0.9, 0.5, 0.6));
  EXPECT_TRUE(d.exit);
  EXPECT_EQ(d.cls, 1);
}

TEST(Router, UncalibratedNeverExitsGoodAtCoarse) {
  const float p[] = {0.999f, 0.0005f, 0.0005f};
  EXPECT_FALSE(decide_coarse(p, 3, 0, th(2.0, 0.9, 0.5, 0.6)).exit);
  const CoarseDecision d = decide_coarse(p, 3, 0, th(0.99, 0.9, 0.5, 0.6));
  EXPECT_TRUE(d.exit);
  EXPECT_EQ(d.cls, 0);
}

TEST(Router, ThresholdIsInclusive) {
  const float p[] = {0.25f, 0.75f};
  EXPECT_TRUE(decide_coarse(p, 2, 0, th(2.0, 0.75, 0.5, 0.6)).exit);
  EXPECT_FALSE(decide_coarse(p, 2, 0, th(2.0, 0.7500001, 0.5, 0.6)).exit);
}

TEST(Router, FinalGoodNeedsItsThreshold) {
  const float p[] = {0.2f, 0.5f, 0.3f};  // good = 1 is the argmax but below 0.6
  EXPECT_EQ(decide_final(p, 3, 1, th(2.0, 0.9, 0.6, 0.6)), 2);
  EXPECT_EQ(decide_final(p, 3, 1, th(2.0, 0.9, 0.5, 0.6)), 1);
}

TEST(Router, TopDefectTiesGoToTheSmallerIndex) {
  const float p[] = {0.3f, 0.1f, 0.3f, 0.3f};
  EXPECT_EQ(top_defect(p, 4, 0), 2);
  EXPECT_EQ(top_defect(p, 4, 2), 0);
}

TEST(Router, Review) {
  EXPECT_TRUE(needs_review(0.59f, 1, th(2.0, 0.9, 0.5, 0.6)));
  EXPECT_FALSE(needs_review(0.6f, 1, th(2.0, 0.9, 0.5, 0.6)));
  // Per-class thresholds (the reject bin): each class against its own.
  RouterThresholds t = th(2.0, 0.9, 0.5, 0.6);
  t.class_review = {0.3, 0.9, 0.6};
  EXPECT_FALSE(needs_review(0.5f, 0, t));
  EXPECT_TRUE(needs_review(0.85f, 1, t));
  EXPECT_FALSE(needs_review(0.95f, 1, t));
  EXPECT_EQ(review_threshold(t, 2), 0.6);
}

TEST(Router, SoftmaxSumsToOne) {
  const float l[] = {1000.f, 999.f, -5.f};
  float p[3];
  softmax(l, 3, p);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0f, 1e-6f);
  EXPECT_GT(p[0], p[1]);
}


// A model without a good class (good = -1): no good exit at either pass, the final decision is the
// argmax, the coarse pass exits only on a confident class.
TEST(Router, NoGoodClass) {
  const float p[] = {0.95f, 0.03f, 0.02f};  // class 0 is a defect class here, not "good"
  const CoarseDecision d = decide_coarse(p, 3, -1, th(0.5, 0.9, 0.5, 0.6));
  EXPECT_TRUE(d.exit);
  EXPECT_EQ(d.cls, 0);
  const float q[] = {0.5f, 0.3f, 0.2f};  // below coarse_defect: escalate, whatever coarse_good says
  EXPECT_FALSE(decide_coarse(q, 3, -1, th(0.0, 0.9, 0.5, 0.6)).exit);
  EXPECT_EQ(decide_final(q, 3, -1, th(2.0, 0.9, 0.0, 0.6)), 0);
  const float r[] = {0.2f, 0.3f, 0.5f};
  EXPECT_EQ(decide_final(r, 3, -1, th(2.0, 0.9, 0.0, 0.6)), 2);
  EXPECT_EQ(top_defect(r, 3, -1), 2);
  const float t[] = {0.4f, 0.4f, 0.2f};  // ties go to the smaller index
  EXPECT_EQ(decide_final(t, 3, -1, th(2.0, 0.9, 0.5, 0.6)), 0);
}

// in_force: fail-safe exactly when the file is uncalibrated and the caller did not allow it; a forced
// coarse pass decides with coarse_good.
TEST(Router, InForcePolicy) {
  RouterThresholds file = th(0.99, 0.9, 0.5, 0.6);
  EXPECT_TRUE(in_force(file, 0, false, false).fail_safe);
  EXPECT_FALSE(in_force(file, 0, true, false).fail_safe);
  EXPECT_FALSE(in_force(file, -1, false, false).fail_safe);  // no good class: nothing to withhold
  file.calibrated = true;
  EXPECT_FALSE(in_force(file, 0, false, false).fail_safe);
  EXPECT_EQ(in_force(file, 0, false, false).fine_good, 0.5);
  EXPECT_EQ(in_force(file, 0, false, true).fine_good, 0.99);
  EXPECT_EQ(in_force(file, 0, false, true).coarse_good, 0.99);
  EXPECT_EQ(forced_coarse(file).fine_good, 0.99);
}

// Fail-safe: no good exit, no good decision; the withheld good goes to review.
TEST(Router, FailSafeNeverDecidesGood) {
  RouterThresholds t = th(0.9, 0.9, 0.5, 0.3);
  t.fail_safe = true;
  const float p[] = {0.96f, 0.03f, 0.01f};  // good = 0, confident
  EXPECT_FALSE(decide_coarse(p, 3, 0, t).exit);
  EXPECT_EQ(decide_final(p, 3, 0, t), 1);
  EXPECT_TRUE(final_review(p, 1, 0, t));
  const float q[] = {0.1f, 0.85f, 0.05f};  // a confident defect: decided as without the fail-safe, no review
  EXPECT_TRUE(decide_coarse(q, 3, 0, th(0.9, 0.8, 0.5, 0.3)).exit);
  t.coarse_defect = 0.8;
  EXPECT_TRUE(decide_coarse(q, 3, 0, t).exit);
  EXPECT_EQ(decide_final(q, 3, 0, t), 1);
  EXPECT_FALSE(final_review(q, 1, 0, t));
  const float r[] = {0.45f, 0.40f, 0.15f};  // good below fine_good but the most probable: review
  EXPECT_EQ(decide_final(r, 3, 0, t), 1);
  EXPECT_TRUE(final_review(r, 1, 0, t));
  t.fail_safe = false;  // without it: the same image is class 1 (good below fine_good), review only by P
  EXPECT_EQ(decide_final(r, 3, 0, t), 1);
  EXPECT_FALSE(final_review(r, 1, 0, t));
}

}  // namespace
}  // namespace triage::rt
