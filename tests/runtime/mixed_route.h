// A random cfvit whose router thresholds make routed runs mix coarse exits and escalations on given
// images: the coarse-defect threshold is the median of the images' top defect probabilities.
#pragma once

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "tests/runtime/test_util.h"

namespace triage::test {

inline std::vector<uint8_t> mixed_route_model(RandomModelSpec s, const std::vector<TestImage>& imgs) {
  s.coarse_good = 2.0;
  s.coarse_defect = 0.0;
  const std::vector<uint8_t> probe = make_random_model(s);
  triage_options o = options(1, 1, TRIAGE_FORCE_COARSE);
  triage_model* m = nullptr;
  EXPECT_EQ(triage_open_memory(probe.data(), probe.size(), &o, &m), TRIAGE_OK);
  std::vector<float> tops;
  for (const TestImage& t : imgs) {
    const triage_image v = view(t);
    triage_result r;
    EXPECT_EQ(triage_classify(m, &v, &r), TRIAGE_OK);
    float top = 0;
    for (int c = 0; c < s.ncls; ++c)
      if (c != s.good) top = std::max(top, r.probabilities[c]);
    tops.push_back(top);
  }
  triage_close(m);
  std::sort(tops.begin(), tops.end());
  s.coarse_defect = tops[tops.size() / 2];
  return make_random_model(s);
}

}  // namespace triage::test
