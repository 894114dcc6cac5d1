// The router policy in force (issue 16): a file whose router is not calibrated never decides its good
// class unless the caller opts in (TRIAGE_OPEN_ALLOW_UNCALIBRATED, the fail-safe); thresholds are
// range-checked at open; a forced coarse pass decides with the coarse thresholds; per-class review
// thresholds (the reject bin) flag each class against its own. Engine results are compared image by image
// with the oracle deciding under the same policy (OracleRunner, rt::in_force).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "runtime/triage.h"
#include "tests/runtime/oracle_runner.h"
#include "tests/runtime/random_model.h"
#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

struct Handle {
  triage_model* m = nullptr;
  ~Handle() { triage_close(m); }
};

triage_status open(const std::vector<uint8_t>& bytes, const triage_options& o, Handle& h) {
  return triage_open_memory(bytes.data(), bytes.size(), &o, &h.m);
}

triage_model_info info_of(triage_model* m) {
  triage_model_info i{};
  i.struct_size = sizeof i;
  EXPECT_EQ(triage_get_info(m, &i), TRIAGE_OK);
  return i;
}

constexpr int kImages = 24;

TestImage image(int i) { return make_random_image(500 + i, 40 + 3 * i, 52 - i, 1, i % 4 == 3); }

RandomModelSpec base_spec(int64_t calibrated) {
  RandomModelSpec s;
  s.ncls = 3;
  s.good = 0;
  s.coarse_good = 2.0;
  s.fine_good = 0.5;
  s.coarse_defect = 0.95;
  s.review = 0.5;
  s.calibrated = calibrated;
  return s;
}

// P(good) of each test image at a forced pass (the weights do not depend on the thresholds).
std::vector<float> good_probs(uint32_t force) {
  const std::vector<uint8_t> bytes = make_random_model(base_spec(1));
  Handle h;
  EXPECT_EQ(open(bytes, options(1, 1, force, 0), h), TRIAGE_OK) << triage_open_error();
  std::vector<float> p;
  for (int i = 0; i < kImages; ++i) {
    const TestImage img = image(i);
    const triage_image v = view(img);
    triage_result r{};
    EXPECT_EQ(triage_classify(h.m, &v, &r), TRIAGE_OK);
    p.push_back(r.probabilities[0]);
  }
  std::sort(p.begin(), p.end());
  return p;
}

// Thresholds at which the file's rule decides good for about half the images at each pass.
RandomModelSpec lax_spec(int64_t calibrated) {
  const std::vector<float> c = good_probs(TRIAGE_FORCE_COARSE), f = good_probs(TRIAGE_FORCE_FINE);
  RandomModelSpec s = base_spec(calibrated);
  s.fine_good = f[kImages / 2];
  s.coarse_good = std::max<double>(c[kImages / 2], s.fine_good);
  return s;
}

// The engine decides as the oracle does under the same policy, every route, with and without the flag.
TEST(RouterPolicy, EngineMatchesOracleUnderEachPolicy) {
  const RandomModelSpec s = lax_spec(0);
  const std::vector<uint8_t> bytes = make_random_model(s);
  OracleRunner oracle(bytes);
  for (uint32_t force : {uint32_t(TRIAGE_FORCE_NONE), uint32_t(TRIAGE_FORCE_COARSE), uint32_t(TRIAGE_FORCE_FINE)}) {
    for (bool allow : {false, true}) {
      Handle h;
      ASSERT_EQ(open(bytes, options(1, 1, force, allow ? TRIAGE_OPEN_ALLOW_UNCALIBRATED : 0), h), TRIAGE_OK)
          << triage_open_error();
      EXPECT_EQ(info_of(h.m).fail_safe, allow ? 0u : 1u);
      int good_decided = 0, good_if_allowed = 0;
      for (int i = 0; i < kImages; ++i) {
        const TestImage img = image(i);
        const triage_image v = view(img);
        triage_result r{};
        ASSERT_EQ(triage_classify(h.m, &v, &r), TRIAGE_OK) << triage_last_error(h.m);
        const OracleResult want = oracle.classify(v, force, allow);
        EXPECT_EQ(r.class_index, want.cls) << "force " << force << " allow " << allow << " image " << i;
        good_decided += r.class_index == 0;
        good_if_allowed += oracle.classify(v, force, true).cls == 0;
        // The final decision's probabilities: where the file's rule would call them good, the fail-safe
        // sends the image to review (a coarse exit withheld escalates instead: judged at the fine pass).
        const double final_good = force == TRIAGE_FORCE_COARSE ? s.coarse_good : s.fine_good;
        if (!allow && static_cast<double>(r.probabilities[0]) >= final_good) {
          EXPECT_EQ(r.review, 1u) << "force " << force << " image " << i;
        }
      }
      if (allow) {
        EXPECT_EQ(good_decided, good_if_allowed);
      } else {
        EXPECT_EQ(good_decided, 0) << "force " << force << ": the fail-safe decided good";
      }
      EXPECT_GT(good_if_allowed, 0) << "force " << force << ": the test model never decides good: weak test";
    }
  }
}

// Opens bytes without and with the flag; both decide every test image the same way. Returns how many
// images were decided class 0.
int expect_flag_changes_nothing(const std::vector<uint8_t>& bytes) {
  Handle a, b;
  EXPECT_EQ(open(bytes, options(1, 1, TRIAGE_FORCE_NONE, 0), a), TRIAGE_OK) << triage_open_error();
  EXPECT_EQ(open(bytes, options(1, 1, TRIAGE_FORCE_NONE, TRIAGE_OPEN_ALLOW_UNCALIBRATED), b), TRIAGE_OK);
  if (!a.m || !b.m) return 0;
  EXPECT_EQ(info_of(a.m).fail_safe, 0u);
  int zero = 0;
  for (int i = 0; i < kImages; ++i) {
    const TestImage img = image(i);
    const triage_image v = view(img);
    triage_result ra{}, rb{};
    EXPECT_EQ(triage_classify(a.m, &v, &ra), TRIAGE_OK);
    EXPECT_EQ(triage_classify(b.m, &v, &rb), TRIAGE_OK);
    EXPECT_EQ(ra.class_index, rb.class_index) << "image " << i;
    EXPECT_EQ(ra.route, rb.route) << "image " << i;
    EXPECT_EQ(ra.review, rb.review) << "image " << i;
    zero += ra.class_index == 0;
  }
  return zero;
}

// A calibrated file: the flag changes nothing.
TEST(RouterPolicy, CalibratedFileIgnoresTheFlag) {
  EXPECT_GT(expect_flag_changes_nothing(make_random_model(lax_spec(1))), 0) << "good never decided: weak test";
}

// TRIAGE_FORCE_COARSE decides good only when P(good) >= coarse_good (not the laxer fine_good).
TEST(RouterPolicy, ForcedCoarseUsesTheCoarseThreshold) {
  const std::vector<float> c = good_probs(TRIAGE_FORCE_COARSE);
  RandomModelSpec s = base_spec(1);
  s.fine_good = c[kImages / 4];           // the old rule (fine_good) calls 3/4 of the images good
  s.coarse_good = c[3 * kImages / 4];     // the coarse threshold about 1/4
  const std::vector<uint8_t> bytes = make_random_model(s);
  Handle coarse;
  ASSERT_EQ(open(bytes, options(1, 1, TRIAGE_FORCE_COARSE, 0), coarse), TRIAGE_OK) << triage_open_error();
  int old_rule = 0, decided = 0;
  for (int i = 0; i < kImages; ++i) {
    const TestImage img = image(i);
    const triage_image v = view(img);
    triage_result r{};
    ASSERT_EQ(triage_classify(coarse.m, &v, &r), TRIAGE_OK);
    const bool want = static_cast<double>(r.probabilities[0]) >= s.coarse_good;
    EXPECT_EQ(r.class_index == 0, want) << "image " << i << " P(good) " << r.probabilities[0];
    old_rule += static_cast<double>(r.probabilities[0]) >= s.fine_good;
    decided += r.class_index == 0;
  }
  EXPECT_GT(decided, 0);
  EXPECT_GT(old_rule, decided) << "the two rules agree on every image: weak test";
}

// Thresholds outside [0, 2], NaN, coarse_good below fine_good, router.calibrated not 0/1: refused.
TEST(RouterPolicy, ThresholdsRangeCheckedAtOpen) {
  struct Bad {
    const char* what;
    void (*edit)(RandomModelSpec&);
    const char* key;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  static double s_nan;
  s_nan = nan;
  const Bad bad[] = {
      {"negative", [](RandomModelSpec& s) { s.review = -0.1; }, "router.review_threshold"},
      {"above 2", [](RandomModelSpec& s) { s.coarse_defect = 2.5; }, "router.coarse_defect_threshold"},
      {"NaN", [](RandomModelSpec& s) { s.fine_good = s_nan; }, "router.fine_good_threshold"},
      {"coarse below fine", [](RandomModelSpec& s) { s.coarse_good = 0.8, s.fine_good = 0.9; }, "router.coarse_good_threshold"},
      {"calibrated 2", [](RandomModelSpec& s) { s.calibrated = 2; }, "router.calibrated"},
      {"class review length", [](RandomModelSpec& s) { s.class_review = {0.5, 0.5}; }, "router.class_review_thresholds"},
      {"class review range", [](RandomModelSpec& s) { s.class_review = {0.5, -1, 0.5}; }, "router.class_review_thresholds[1]"},
  };
  for (const Bad& b : bad) {
    RandomModelSpec s = base_spec(0);
    b.edit(s);
    const std::vector<uint8_t> bytes = make_random_model(s);
    Handle h;
    EXPECT_EQ(open(bytes, options(), h), TRIAGE_E_FORMAT) << b.what;
    EXPECT_EQ(h.m, nullptr);
    EXPECT_NE(std::strstr(triage_open_error(), b.key), nullptr) << b.what << ": " << triage_open_error();
  }
  // The edges are accepted: 0, 2 (an exit turned off), coarse_good == fine_good.
  RandomModelSpec s = base_spec(0);
  s.review = 0;
  s.coarse_good = 2.0;
  s.coarse_defect = 2.0;
  s.fine_good = 2.0;
  Handle h;
  EXPECT_EQ(open(make_random_model(s), options(), h), TRIAGE_OK) << triage_open_error();
}

// Per-class review thresholds: each decision is flagged against its class's own threshold; the info
// struct exposes them.
TEST(RouterPolicy, ClassReviewThresholdsFlagEachClassAgainstItsOwn) {
  // Each class's threshold at the median confidence of its decisions (1.0 for a class never decided):
  // about half of each class's decisions are flagged, whatever the random weights decide.
  RandomModelSpec s = base_spec(1);
  s.review = 0.0;  // the global threshold would flag nothing
  {
    Handle probe;
    ASSERT_EQ(open(make_random_model(s), options(1, 1, TRIAGE_FORCE_FINE, 0), probe), TRIAGE_OK);
    std::vector<std::vector<float>> conf(3);
    for (int i = 0; i < kImages; ++i) {
      const TestImage img = image(i);
      const triage_image v = view(img);
      triage_result r{};
      ASSERT_EQ(triage_classify(probe.m, &v, &r), TRIAGE_OK);
      conf[static_cast<size_t>(r.class_index)].push_back(r.confidence);
    }
    for (std::vector<float>& c : conf) {
      std::sort(c.begin(), c.end());
      s.class_review.push_back(c.empty() ? 1.0 : static_cast<double>(c[c.size() / 2]));
    }
  }
  const std::vector<uint8_t> bytes = make_random_model(s);
  Handle h;
  ASSERT_EQ(open(bytes, options(1, 1, TRIAGE_FORCE_FINE, 0), h), TRIAGE_OK) << triage_open_error();
  const triage_model_info info = info_of(h.m);
  ASSERT_NE(info.class_review_thresholds, nullptr);
  EXPECT_EQ(info.class_review_thresholds[1], s.class_review[1]);
  int flagged = 0;
  for (int i = 0; i < kImages; ++i) {
    const TestImage img = image(i);
    const triage_image v = view(img);
    triage_result r{};
    ASSERT_EQ(triage_classify(h.m, &v, &r), TRIAGE_OK);
    const bool want = static_cast<double>(r.confidence) < s.class_review[static_cast<size_t>(r.class_index)];
    EXPECT_EQ(r.review != 0, want) << "image " << i << " class " << r.class_index << " P " << r.confidence;
    flagged += r.review != 0;
  }
  EXPECT_GT(flagged, 0);
  EXPECT_LT(flagged, kImages);
  RandomModelSpec plain = base_spec(1);
  Handle p;
  ASSERT_EQ(open(make_random_model(plain), options(), p), TRIAGE_OK);
  EXPECT_EQ(info_of(p.m).class_review_thresholds, nullptr);
}

// A model without a good class: the fail-safe has nothing to withhold; decisions are the same either way.
TEST(RouterPolicy, NoGoodClassUnaffected) {
  RandomModelSpec s = base_spec(0);
  s.good = -1;
  expect_flag_changes_nothing(make_random_model(s));
}

}  // namespace
}  // namespace triage::test
