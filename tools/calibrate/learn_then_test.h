// Choosing router thresholds with a finite-sample escape guarantee: Learn-then-Test (Angelopoulos et
// al. 2021) with fixed-sequence testing.
//
// Hypotheses: for a threshold pair (coarse_good, fine_good), H0: escape rate > E (overall), or > E_c
// for some defect class with enough images (intersection-union: each constraint's binomial p-value
// must pass on its own, which needs no correction). p-value: P(X <= k | n, E), exact binomial, i.e.
// the Clopper-Pearson bound is <= E.
// Search: one fixed sequence per fine_good value in the fine grid (m sequences), each over the coarse
// grid ordered from strict (2.0: never exit good at the coarse pass) to lax, tested at level
// (1 - C) / m (Bonferroni over the m sequences) and stopped at its first failure. Every pair tested
// before that failure is certified; with probability >= C no certified pair has a true escape rate
// above its target (family-wise), whatever the data. The grids are fixed before seeing the data.
// Choice among certified pairs: fewest escalations, then fewest over-rejects (optionally capped),
// then the stricter pair.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model_config.h"
#include "tools/calibrate/routed_counts.h"
#include "tools/calibrate/score_table.h"

namespace triage::calib {

struct LttOptions {
  double target_escape = 0.001;        // E, overall
  double class_target_escape = 0;      // E_c per defect class; 0 = same as E
  double confidence = 0.95;            // C
  std::vector<double> coarse_grid;     // strict -> lax (default_coarse_grid())
  std::vector<double> fine_grid;       // one sequence each (default_fine_grid())
  double coarse_defect = 0.9, review = 0.6;  // kept fixed during the search
  double max_over_reject = 1.0;        // certified pairs above this observed rate are not chosen
};

struct Trial {
  rt::RouterThresholds th;
  RoutedCounts counts;
  double p_value = 1;    // the largest p-value over the overall and the eligible per-class constraints
  bool certified = false;
};

struct LttResult {
  bool ok = false;
  std::string refusal;             // one paragraph, when !ok
  double alpha = 0, alpha_test = 0;  // 1 - C, and the per-test level (1 - C) / m
  double class_target = 0;         // E_c used
  uint64_t defective = 0, good = 0;
  uint64_t n_required = 0;           // defective images needed to certify E with 0 escapes, at C
  uint64_t n_required_search = 0;    // the same at the per-test level (what the search needs)
  uint64_t class_min_n = 0;          // images a defect class needs to be bounded on its own
  std::vector<std::vector<Trial>> sequences;  // per fine value: the trials tested, in order
  size_t certified = 0;
  Trial chosen;
};

// 2.0 (never exit good at the coarse pass), then 1 - 10^-x for x = 7.0, 6.9, ..., 0.3.
std::vector<double> default_coarse_grid();
// 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999.
std::vector<double> default_fine_grid();

LttResult learn_then_test(const ScoreTable& t, const LttOptions& opt);

// Per-class constraint status for a trial (for reports): n, escapes, Clopper-Pearson bound at
// confidence, and whether the class had enough images to be tested.
struct ClassBound {
  int cls = 0;
  uint64_t n = 0, escapes = 0;
  double bound = 1;
  bool tested = false;
};
std::vector<ClassBound> class_bounds(const ScoreTable& t, const RoutedCounts& c, double confidence, uint64_t min_n);

}  // namespace triage::calib
