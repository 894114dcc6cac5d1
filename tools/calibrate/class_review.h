// Per-class review thresholds (the reject bin an ADC engineer sets per class): for each class, the
// confidence below which its decisions go to a human, chosen on labelled calibration data from a target
// purity (share of correct decisions among the ones that are not sent to review) and / or a maximum
// rejection rate (share of the class's decisions sent to review). Decisions are the full routed rule
// at the thresholds already chosen (route_image), so the purity is that of what the tool will decide.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model_config.h"
#include "tools/calibrate/score_table.h"

namespace triage::calib {

inline constexpr uint64_t kMinClassDecisions = 20;  // fewer decisions of a class: it keeps the global threshold

struct ClassReviewOptions {
  double target_purity = 0;  // in (0, 1); 0: no purity target (max_reject alone)
  double max_reject = 1;     // in [0, 1]; 1: no cap
  double confidence = 0.95;  // of the reported purity lower bound (Clopper-Pearson)
};

struct ClassReview {
  int cls = -1;
  uint64_t decided = 0;   // decisions of this class on the calibration data (routed rule)
  uint64_t correct = 0;   // of which correct
  double threshold = 0;   // chosen review threshold (the global one when status is insufficient)
  uint64_t accepted = 0, accepted_correct = 0;  // decisions with P >= threshold, and how many are correct
  double purity = 0;      // accepted_correct / accepted (1 when nothing is accepted)
  double purity_lower = 0;  // one-sided Clopper-Pearson lower bound of the purity at options.confidence
  double rejection = 0;   // (decided - accepted) / decided
  bool target_met = true; // purity >= target (always true without a target)
  std::string status;     // "chosen", "capped by --max-reject", "insufficient sample (n < 20): global threshold"
};

// One entry per class (class order). th: the router thresholds in force for the routed decisions
// (its class_review is ignored: the choice starts from nothing). Candidate thresholds are the
// confidences the class's decisions take (accept P >= t), plus 0 (review nothing); for a purity target
// the smallest candidate meeting it (fewest rejections), capped by max_reject; with max_reject alone
// the largest candidate whose rejection stays within it (the purest the budget allows).
std::vector<ClassReview> choose_class_review(const ScoreTable& t, const rt::RouterThresholds& th,
                                             const ClassReviewOptions& opt);

// The thresholds to store (router.class_review_thresholds), one per class.
std::vector<double> class_review_thresholds(const std::vector<ClassReview>& r);

}  // namespace triage::calib
