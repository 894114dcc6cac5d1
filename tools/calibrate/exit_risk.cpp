#include "tools/calibrate/exit_risk.h"

#include <cstdio>

#include "runtime/router.h"
#include "tools/calibrate/learn_then_test.h"
#include "tools/calibrate/routed_counts.h"
#include "tools/cli/stats.h"

namespace triage::calib {

namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

ExitTrial trial(const ScoreTable& t, double coarse_defect, const rt::RouterThresholds& base) {
  rt::RouterThresholds th = base;
  th.coarse_defect = coarse_defect;
  ExitTrial r;
  r.coarse_defect = coarse_defect;
  for (size_t i = 0; i < t.size(); ++i) {
    const int y = t.label[i];
    const Routed d = route_image(t.coarse_row(i), t.fine_row(i), t.ncls, t.good, th);
    r.correct += d.cls == y;
    if (d.escalated) continue;
    ++r.exits;
    if (d.cls == y) continue;
    ++r.exit_wrong;
    r.exit_errors += rt::decide_final(t.fine_row(i), t.ncls, t.good, th) == y;
  }
  return r;
}

}  // namespace

ExitRiskResult calibrate_exit_risk(const ScoreTable& t, const ExitRiskOptions& opt) {
  ExitRiskResult r;
  r.n = t.size();
  r.n_required = cli::min_n_zero_events(opt.target, opt.confidence);
  rt::RouterThresholds base;
  base.calibrated = true;
  base.coarse_good = 2.0;  // never read without a good class; 2 = "no good exit" in every tool's report
  base.review = opt.review;
  for (size_t i = 0; i < t.size(); ++i) r.fine_correct += rt::decide_final(t.fine_row(i), t.ncls, t.good, base) == t.label[i];
  if (t.good >= 0) {
    r.refusal = "the model has a good class: calibrate its escape rate (--target-escape) instead";
    return r;
  }
  if (r.n < r.n_required) {
    r.refusal = "the data cannot support the bound: " + std::to_string(r.n) + " images, but an exit-error rate <= " +
                fmt("%g", opt.target) + " at confidence " + fmt("%g", opt.confidence) + " needs at least " +
                std::to_string(r.n_required) + " images even with 0 exit errors (Clopper-Pearson: n >= ln(1-C)/ln(1-E)). "
                "Add images or relax --target-exit-error / --confidence.";
    return r;
  }
  std::vector<double> grid = opt.grid;
  if (grid.empty()) grid = default_coarse_grid();  // starts at 2.0: never exit
  const double alpha = 1.0 - opt.confidence;
  for (double c : grid) {
    ExitTrial tr = trial(t, c, base);
    tr.p_value = cli::binomial_p_value(tr.exit_errors, r.n, opt.target);
    tr.certified = tr.p_value <= alpha;
    r.trials.push_back(tr);
    if (!tr.certified) break;
    r.chosen = tr;
    r.ok = true;
  }
  if (!r.ok) {
    r.refusal = "even the strictest threshold (never exit) cannot be certified";
    return r;
  }
  r.thresholds = base;
  r.thresholds.coarse_defect = r.chosen.coarse_defect;
  return r;
}

}  // namespace triage::calib
