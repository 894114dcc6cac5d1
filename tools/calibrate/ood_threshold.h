// Out-of-distribution thresholds (issue 16), chosen on held-out in-distribution images so that an image
// like them is flagged `unknown` with probability at most alpha. Two tests, alpha/2 each (a union bound):
// - energy: per pass, the score above which a decision of that pass is flagged. Split-conformal rule:
//   with n scores sorted ascending, the threshold is the k-th smallest, k = ceil((n + 1)(1 - alpha/2));
//   a new exchangeable image scores above it with probability (n + 1 - k) / (n + 1) <= alpha/2.
// - input: the range [lo, hi] of the input's mean and of its standard deviation (runtime/router.h
//   input_stats), each end the k-th most extreme calibration value, k = floor((alpha/8)(n + 1)) >= 1:
//   four tails of probability k / (n + 1) <= alpha/8 each.
// Over the draw of the calibration set and of the image; ties only lower the rates. It needs
// n + 1 >= 8 / alpha images (799 at alpha = 0.01, 399 at 0.02). The guarantee is per pass over all images
// of the set; a routed decision uses the pass that decided it (eval measures the routed rate).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/model_config.h"
#include "tools/calibrate/score_table.h"

namespace triage::calib {

struct OodThreshold {
  bool ok = false;
  double threshold = 0;  // energy: flag when score > threshold
  size_t rank = 0;       // k: the threshold is the k-th smallest score (1-based)
  size_t n = 0;
  double bound = 1;      // (n + 1 - k) / (n + 1): the false-flag rate guaranteed
  double flagged = 0;    // share of the calibration scores above the threshold
  std::string why;       // when !ok
};
// The energy threshold at false-flag rate alpha_e.
OodThreshold conformal_threshold(std::vector<float> scores, double alpha_e);

struct OodRange {
  bool ok = false;
  double lo = 0, hi = 0;  // flag when value < lo or value > hi
  size_t k = 0, n = 0;    // lo: the k-th smallest, hi: the k-th largest
  double bound = 1;       // 2k / (n + 1)
  std::string why;
};
// The two-sided range at false-flag rate alpha_r (alpha_r / 2 per tail, k = floor((alpha_r/2)(n + 1))).
OodRange conformal_range(std::vector<float> values, double alpha_r);

struct OodCalibration {
  bool ok = false;
  OodThreshold coarse, fine;
  OodRange mean, std;
  double bound = 1;            // the overall false-flag bound: max(coarse, fine) energy bound + mean + std bounds
  double routed_flagged = 0;   // share of calibration images the routed decision (under th) flags
  std::string why;
};

// All thresholds from the table's forced-coarse / forced-fine energies and input statistics; on success
// th gets them (has_ood, ood_false_flag = alpha) and routed_flagged is measured with th's routing.
OodCalibration calibrate_ood(const ScoreTable& table, double alpha, rt::RouterThresholds& th);

}  // namespace triage::calib
