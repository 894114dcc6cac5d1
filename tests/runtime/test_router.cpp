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
  EXPECT_TRUE(needs_review(0.59f, th(2.0, 0.9, 0.5, 0.6)));
  EXPECT_FALSE(needs_review(0.6f, th(2.0, 0.9, 0.5, 0.6)));
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

}  // namespace
}  // namespace triage::rt
