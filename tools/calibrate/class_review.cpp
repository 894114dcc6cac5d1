#include "tools/calibrate/class_review.h"

#include <algorithm>

#include "tools/calibrate/routed_counts.h"
#include "tools/cli/stats.h"

namespace triage::calib {
namespace {

struct Decision {
  float p;
  bool correct;
};

// Accepted decisions (P >= thr) of one class and how many of them are correct.
void count_accepted(const std::vector<Decision>& d, double thr, uint64_t& accepted, uint64_t& correct) {
  accepted = correct = 0;
  for (const Decision& x : d)
    if (static_cast<double>(x.p) >= thr) {
      ++accepted;
      correct += x.correct;
    }
}

void fill(const std::vector<Decision>& d, double thr, double confidence, ClassReview& r) {
  r.threshold = thr;
  count_accepted(d, thr, r.accepted, r.accepted_correct);
  r.purity = r.accepted ? static_cast<double>(r.accepted_correct) / static_cast<double>(r.accepted) : 1.0;
  r.purity_lower = r.accepted ? 1.0 - cli::clopper_pearson_upper(r.accepted - r.accepted_correct, r.accepted, confidence) : 0.0;
  r.rejection = r.decided ? static_cast<double>(r.decided - r.accepted) / static_cast<double>(r.decided) : 0.0;
}

}  // namespace

std::vector<ClassReview> choose_class_review(const ScoreTable& t, const rt::RouterThresholds& th,
                                             const ClassReviewOptions& opt) {
  rt::RouterThresholds base = th;
  base.class_review.clear();
  std::vector<std::vector<Decision>> by_class(static_cast<size_t>(t.ncls));
  for (size_t i = 0; i < t.size(); ++i) {
    const Routed r = route_image(t.coarse_row(i), t.fine_row(i), t.ncls, t.good, base);
    by_class[static_cast<size_t>(r.cls)].push_back({r.confidence, r.cls == t.label[i]});
  }
  std::vector<ClassReview> out;
  for (int k = 0; k < t.ncls; ++k) {
    std::vector<Decision>& d = by_class[static_cast<size_t>(k)];
    ClassReview r;
    r.cls = k;
    r.decided = d.size();
    for (const Decision& x : d) r.correct += x.correct;
    if (r.decided < kMinClassDecisions) {
      fill(d, th.review, opt.confidence, r);
      r.target_met = opt.target_purity <= 0 || r.purity >= opt.target_purity;
      r.status = "insufficient sample (n < " + std::to_string(kMinClassDecisions) + "): global threshold";
      out.push_back(r);
      continue;
    }
    // Candidates, lax to strict: threshold 0 (review nothing), then each distinct confidence v (accept
    // P >= v, i.e. the decisions from v's first position in ascending order). O(n log n).
    std::sort(d.begin(), d.end(), [](const Decision& x, const Decision& y) { return x.p < y.p; });
    const size_t n = d.size();
    std::vector<uint64_t> suffix_correct(n + 1, 0);
    for (size_t j = n; j-- > 0;) suffix_correct[j] = suffix_correct[j + 1] + d[j].correct;
    struct Cand {
      double thr;
      size_t first;  // decisions [first, n) accepted
    };
    std::vector<Cand> cand = {{0.0, 0}};
    for (size_t j = 1; j < n; ++j)
      if (d[j].p != d[j - 1].p) cand.push_back({static_cast<double>(d[j].p), j});
    // The strictest candidate within the rejection budget (rejection = first / n grows along cand).
    size_t cap = 0;
    for (size_t c = 0; c < cand.size(); ++c)
      if (static_cast<double>(cand[c].first) <= opt.max_reject * static_cast<double>(n)) cap = c;
    size_t chosen = cap;
    r.status = "strictest within --max-reject";
    if (opt.target_purity > 0) {
      bool found = false;
      for (size_t c = 0; c <= cap && !found; ++c) {
        const uint64_t acc = n - cand[c].first, cor = suffix_correct[cand[c].first];
        if (acc > 0 && static_cast<double>(cor) >= opt.target_purity * static_cast<double>(acc)) {
          chosen = c;
          found = true;
        }
      }
      r.status = found ? "chosen (laxest meeting the purity target)" : "capped by --max-reject (purity target not met)";
    }
    const double chosen_thr = cand[chosen].thr;
    fill(d, chosen_thr, opt.confidence, r);
    r.target_met = opt.target_purity <= 0 || r.purity >= opt.target_purity;
    out.push_back(r);
  }
  return out;
}

std::vector<double> class_review_thresholds(const std::vector<ClassReview>& r) {
  std::vector<double> v;
  for (const ClassReview& c : r) v.push_back(c.threshold);
  return v;
}

}  // namespace triage::calib
