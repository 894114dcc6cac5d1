// Learn-then-Test over the (coarse_good, fine_good) grid; see learn_then_test.h for the argument.
#include "tools/calibrate/learn_then_test.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tools/cli/stats.h"

namespace triage::calib {

std::vector<double> default_coarse_grid() {
  std::vector<double> g = {2.0};
  for (int x = 70; x >= 3; --x) g.push_back(1.0 - std::pow(10.0, -x / 10.0));
  return g;
}

std::vector<double> default_fine_grid() { return {0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999}; }

namespace {

// The largest p-value over the constraints: overall and each defect class with >= min_n images.
double trial_p_value(const ScoreTable& t, const RoutedCounts& c, double e, double e_class, uint64_t min_n) {
  double p = cli::binomial_p_value(c.escapes, c.defective, e);
  for (int k = 0; k < t.ncls; ++k) {
    const size_t ks = static_cast<size_t>(k);
    if (k == t.good || c.class_n[ks] < min_n) continue;
    p = std::max(p, cli::binomial_p_value(c.class_escapes[ks], c.class_n[ks], e_class));
  }
  return p;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Better choice: fewer escalations, then fewer over-rejects, then the stricter pair.
bool better(const Trial& a, const Trial& b) {
  if (a.counts.escalated != b.counts.escalated) return a.counts.escalated < b.counts.escalated;
  if (a.counts.over_rejects != b.counts.over_rejects) return a.counts.over_rejects < b.counts.over_rejects;
  if (a.th.coarse_good != b.th.coarse_good) return a.th.coarse_good > b.th.coarse_good;
  return a.th.fine_good > b.th.fine_good;
}

}  // namespace

std::vector<ClassBound> class_bounds(const ScoreTable& t, const RoutedCounts& c, double confidence, uint64_t min_n) {
  std::vector<ClassBound> out;
  for (int k = 0; k < t.ncls; ++k) {
    if (k == t.good) continue;
    const size_t ks = static_cast<size_t>(k);
    out.push_back({k, c.class_n[ks], c.class_escapes[ks], cli::clopper_pearson_upper(c.class_escapes[ks], c.class_n[ks], confidence),
                   c.class_n[ks] >= min_n});
  }
  return out;
}

LttResult learn_then_test(const ScoreTable& t, const LttOptions& opt) {
  LttResult r;
  const std::vector<double> cg = opt.coarse_grid.empty() ? default_coarse_grid() : opt.coarse_grid;
  const std::vector<double> fg = opt.fine_grid.empty() ? default_fine_grid() : opt.fine_grid;
  const double m = static_cast<double>(fg.size());
  r.alpha = 1.0 - opt.confidence;
  r.alpha_test = r.alpha / m;
  r.class_target = opt.class_target_escape > 0 ? opt.class_target_escape : opt.target_escape;
  r.n_required = cli::min_n_zero_events(opt.target_escape, opt.confidence);
  r.n_required_search = cli::min_n_zero_events(opt.target_escape, 1.0 - r.alpha_test);
  r.class_min_n = cli::min_n_zero_events(r.class_target, 1.0 - r.alpha_test);
  for (size_t i = 0; i < t.size(); ++i) (t.label[i] == t.good ? r.good : r.defective) += 1;

  if (r.defective < r.n_required_search) {
    r.refusal = "the data cannot support the bound: " + std::to_string(r.defective) +
                " defective images, but an escape rate <= " + fmt("%g", opt.target_escape) + " at confidence " +
                fmt("%g", opt.confidence) + " needs at least " + std::to_string(r.n_required) +
                " defective images even with 0 observed escapes (Clopper-Pearson: n >= ln(1-C)/ln(1-E)), and " +
                std::to_string(r.n_required_search) + " for this search (" + std::to_string(fg.size()) +
                " fine thresholds, each tested at level (1-C)/" + std::to_string(fg.size()) +
                "; pass --fine-good to test a single one). Add defective images or relax --target-escape / --confidence.";
    return r;
  }

  rt::RouterThresholds base;
  base.calibrated = true;
  base.coarse_defect = opt.coarse_defect;
  base.review = opt.review;
  for (double f : fg) {
    std::vector<Trial>& seq = r.sequences.emplace_back();
    for (double c : cg) {
      // Only coarse_good >= fine_good: the engine refuses a coarse pass that exits good on less evidence
      // than the fine pass needs (runtime/model_config.cpp). The grid is strict to lax, so the rest of
      // this sequence is below too: the pre-set sequence ends here, whatever the data.
      if (c < f) break;
      Trial tr;
      tr.th = base;
      tr.th.coarse_good = c;
      tr.th.fine_good = f;
      tr.counts = count_routed(t, tr.th);
      tr.p_value = trial_p_value(t, tr.counts, opt.target_escape, r.class_target, r.class_min_n);
      tr.certified = tr.p_value <= r.alpha_test;
      seq.push_back(tr);
      if (!tr.certified) break;  // fixed sequence: the first failure ends this sequence
      ++r.certified;
      const double over = rate(tr.counts.over_rejects, tr.counts.good);
      if (over <= opt.max_over_reject && (!r.ok || better(tr, r.chosen))) {
        r.chosen = tr;
        r.ok = true;
      }
    }
  }
  if (r.ok) return r;

  if (r.certified == 0) {
    // Report the strictest pair's evidence: even it cannot be certified.
    const Trial* sp = &r.sequences.front().front();
    for (const auto& seq : r.sequences)
      if (seq.front().th.fine_good > sp->th.fine_good) sp = &seq.front();
    const Trial& s = *sp;
    r.refusal = "no threshold pair can be certified: even the strictest (never exit good at the coarse pass, fine "
                "good only at P(good) >= " + fmt("%g", s.th.fine_good) + ") has " + std::to_string(s.counts.escapes) +
                " escapes in " + std::to_string(s.counts.defective) + " defective images (Clopper-Pearson bound " +
                fmt("%.3g", cli::clopper_pearson_upper(s.counts.escapes, s.counts.defective, 1.0 - r.alpha_test)) +
                " at the per-test confidence, target " + fmt("%g", opt.target_escape) +
                (r.class_min_n <= s.counts.defective ? ", or a defect class above its target " + fmt("%g", r.class_target) : std::string()) +
                "). The model escapes too often for this target: relax it, add data, or add stricter --fine-grid values.";
  } else {
    r.refusal = std::to_string(r.certified) + " threshold pairs are certified, but all over-reject more than --max-over-reject " +
                fmt("%g", opt.max_over_reject) + " of the good images.";
  }
  return r;
}

}  // namespace triage::calib
