// Router decisions. Comparisons are done in double against the file's f64 thresholds so a threshold
// reads exactly as calibrated.
#include "runtime/router.h"

#include <cmath>

namespace triage::rt {

RouterThresholds forced_coarse(const RouterThresholds& t) {
  RouterThresholds c = t;
  c.fine_good = t.coarse_good;
  return c;
}

RouterThresholds in_force(const RouterThresholds& file, int good, bool allow_uncalibrated, bool coarse_only) {
  RouterThresholds t = coarse_only ? forced_coarse(file) : file;
  t.fail_safe = good >= 0 && !file.calibrated && !allow_uncalibrated;  // nothing to withhold without a good class
  return t;
}

void softmax(const float* logits, int n, float* probs) {
  float mx = logits[0];
  for (int i = 1; i < n; ++i) mx = logits[i] > mx ? logits[i] : mx;
  float sum = 0;
  for (int i = 0; i < n; ++i) sum += (probs[i] = std::exp(logits[i] - mx));
  const float inv = 1.0f / sum;
  for (int i = 0; i < n; ++i) probs[i] *= inv;
}

int top_defect(const float* probs, int n, int good) {
  int best = -1;
  for (int i = 0; i < n; ++i)
    if (i != good && (best < 0 || probs[i] > probs[best])) best = i;
  return best;
}

CoarseDecision decide_coarse(const float* probs, int n, int good, const RouterThresholds& t) {
  const int d = top_defect(probs, n, good);
  if (d >= 0 && static_cast<double>(probs[d]) >= t.coarse_defect) return {true, d};
  if (good >= 0 && !t.fail_safe && static_cast<double>(probs[good]) >= t.coarse_good) return {true, good};
  return {false, -1};
}

int decide_final(const float* probs, int n, int good, const RouterThresholds& t) {
  if (good >= 0 && !t.fail_safe && static_cast<double>(probs[good]) >= t.fine_good) return good;
  const int d = top_defect(probs, n, good);
  return d >= 0 ? d : good;
}

double review_threshold(const RouterThresholds& t, int cls) {
  return t.class_review.empty() ? t.review : t.class_review[static_cast<size_t>(cls)];
}

bool needs_review(float p_decided, int cls, const RouterThresholds& t) {
  return static_cast<double>(p_decided) < review_threshold(t, cls);
}

bool final_review(const float* probs, int cls, int good, const RouterThresholds& t) {
  if (needs_review(probs[cls], cls, t)) return true;
  if (!t.fail_safe || good < 0 || cls == good) return false;
  return static_cast<double>(probs[good]) >= t.fine_good || probs[good] >= probs[cls];
}

}  // namespace triage::rt
