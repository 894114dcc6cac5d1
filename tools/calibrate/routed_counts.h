// The full routed rule of runtime/router.h applied to a score table (coarse and fine probabilities of
// every image), and the counts every report is built from: escapes (a defective image finally called
// good), over-rejects (a good image called defective), escalations, per-class confusion.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/model_config.h"
#include "tools/calibrate/score_table.h"

namespace triage::calib {

struct Routed {
  int cls = -1;            // final decision
  bool escalated = false;  // went to the fine pass
  bool review = false;
  float confidence = 0;    // P of the decided class at the deciding pass
};

// Exactly what the engine decides for an image with these coarse / fine probabilities.
Routed route_image(const float* coarse, const float* fine, int ncls, int good, const rt::RouterThresholds& t);

struct RoutedCounts {
  uint64_t images = 0, good = 0, defective = 0;
  uint64_t escapes = 0, over_rejects = 0, escalated = 0, correct = 0, review = 0;
  uint64_t escalated_good = 0, escalated_defective = 0;
  std::vector<uint64_t> class_n, class_escapes;  // [ncls] (the good class's escapes stay 0)
  std::vector<uint64_t> confusion;               // [ncls * ncls], row = true class, column = decided
};

RoutedCounts count_routed(const ScoreTable& t, const rt::RouterThresholds& th);

// Counts from decisions taken elsewhere (a single forced pass, or the engine's routed run): cls[i] is
// the decision for image i, escalated[i] may be empty.
RoutedCounts count_decisions(const ScoreTable& t, const std::vector<int>& cls, const std::vector<uint8_t>& escalated);

// Decisions of one pass alone (coarse exit for everything, or fine for everything) under decide_final,
// the coarse pass with the coarse thresholds (rt::forced_coarse), as the engine's TRIAGE_FORCE_COARSE.
std::vector<int> decide_all(const ScoreTable& t, bool fine, const rt::RouterThresholds& th);

inline double rate(uint64_t k, uint64_t n) { return n ? static_cast<double>(k) / static_cast<double>(n) : 0.0; }

}  // namespace triage::calib
