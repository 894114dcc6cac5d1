// Calibrating the router of a model without a good class (every class a defect class, good_label null):
// there is no escape to bound and no good threshold; the one choice is router.coarse_defect_threshold,
// the confidence at which the coarse pass may decide alone. Exiting early can only hurt where the
// coarse class is wrong while the fine pass would have been right: the exit error. This chooses the
// laxest threshold (most exits) whose exit-error rate (exit errors / all images) has an upper
// confidence bound <= E at confidence C.
//
// Method (Learn-then-Test, one fixed sequence): thresholds from strict (2.0: never exit) to lax
// (default_coarse_grid(): 1 - 10^-x, x = 7.0 ... 0.3), H0: exit-error rate > E, exact binomial
// p-value P(X <= k | n, E), each tested at level 1 - C, stopping at the first failure. Every
// threshold before it is certified; with probability >= C none of them has a true exit-error rate
// above E. The exit-error count grows with laxer thresholds, so the last certified one is chosen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model_config.h"
#include "tools/calibrate/score_table.h"

namespace triage::calib {

struct ExitRiskOptions {
  double target = 0.01;      // E: exit errors per image
  double confidence = 0.95;  // C
  double review = 0.6;       // kept fixed
  std::vector<double> grid;  // strict -> lax; empty = 2.0 then default_coarse_grid()
};

struct ExitTrial {
  double coarse_defect = 2.0;
  uint64_t exits = 0;        // images decided at the coarse pass
  uint64_t exit_errors = 0;  // exits with a wrong class where the fine pass is right
  uint64_t exit_wrong = 0;   // exits with a wrong class (whatever the fine pass says)
  uint64_t correct = 0;      // routed decisions equal to the label
  double p_value = 1;
  bool certified = false;
};

struct ExitRiskResult {
  bool ok = false;
  std::string refusal;
  uint64_t n = 0;              // images
  uint64_t n_required = 0;     // images needed to certify E with 0 exit errors, at C
  uint64_t fine_correct = 0;   // always-fine decisions equal to the label
  std::vector<ExitTrial> trials;  // tested, in order (the last may be the failure)
  ExitTrial chosen;
  rt::RouterThresholds thresholds;  // the chosen set (coarse_good 2: no good exit)
};

ExitRiskResult calibrate_exit_risk(const ScoreTable& t, const ExitRiskOptions& opt);

}  // namespace triage::calib
