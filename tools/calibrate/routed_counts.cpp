// Routing is delegated to runtime/router.cpp (the engine's own rules), never re-implemented here.
#include "tools/calibrate/routed_counts.h"

#include "runtime/router.h"

namespace triage::calib {

Routed route_image(const float* coarse, const float* fine, int ncls, int good, const rt::RouterThresholds& t) {
  Routed r;
  const rt::CoarseDecision d = rt::decide_coarse(coarse, ncls, good, t);
  if (d.exit) {
    r.cls = d.cls;
    r.review = rt::needs_review(coarse[d.cls], d.cls, t);
    r.confidence = coarse[d.cls];
  } else {
    r.escalated = true;
    r.cls = rt::decide_final(fine, ncls, good, t);
    r.review = rt::final_review(fine, r.cls, good, t);
    r.confidence = fine[r.cls];
  }
  return r;
}

namespace {

void init(const ScoreTable& t, RoutedCounts& c) {
  c = RoutedCounts{};
  const size_t k = static_cast<size_t>(t.ncls);
  c.class_n.assign(k, 0);
  c.class_escapes.assign(k, 0);
  c.confusion.assign(k * k, 0);
}

void add(const ScoreTable& t, size_t i, int cls, bool escalated, bool review, RoutedCounts& c) {
  const int y = t.label[i];
  const bool defective = y != t.good;
  ++c.images;
  ++c.class_n[static_cast<size_t>(y)];
  ++c.confusion[static_cast<size_t>(y) * static_cast<size_t>(t.ncls) + static_cast<size_t>(cls)];
  c.correct += cls == y;
  c.review += review;
  if (defective) {
    ++c.defective;
    if (cls == t.good) {
      ++c.escapes;
      ++c.class_escapes[static_cast<size_t>(y)];
    }
    c.escalated_defective += escalated;
  } else {
    ++c.good;
    c.over_rejects += cls != t.good;
    c.escalated_good += escalated;
  }
  c.escalated += escalated;
}

}  // namespace

RoutedCounts count_routed(const ScoreTable& t, const rt::RouterThresholds& th) {
  RoutedCounts c;
  init(t, c);
  for (size_t i = 0; i < t.size(); ++i) {
    const Routed r = route_image(t.coarse_row(i), t.fine_row(i), t.ncls, t.good, th);
    add(t, i, r.cls, r.escalated, r.review, c);
  }
  return c;
}

RoutedCounts count_decisions(const ScoreTable& t, const std::vector<int>& cls, const std::vector<uint8_t>& escalated) {
  RoutedCounts c;
  init(t, c);
  for (size_t i = 0; i < t.size(); ++i) add(t, i, cls[i], !escalated.empty() && escalated[i], false, c);
  return c;
}

std::vector<int> decide_all(const ScoreTable& t, bool fine, const rt::RouterThresholds& th) {
  std::vector<int> out(t.size());
  // The coarse pass alone decides as the engine's TRIAGE_FORCE_COARSE does: with the coarse thresholds.
  const rt::RouterThresholds pass = fine ? th : rt::forced_coarse(th);
  for (size_t i = 0; i < t.size(); ++i)
    out[i] = rt::decide_final(fine ? t.fine_row(i) : t.coarse_row(i), t.ncls, t.good, pass);
  return out;
}

}  // namespace triage::calib
