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

float ood_energy(const float* logits, int n) {
  float mx = logits[0];
  for (int i = 1; i < n; ++i) mx = logits[i] > mx ? logits[i] : mx;
  float sum = 0;
  for (int i = 0; i < n; ++i) sum += std::exp(logits[i] - mx);
  return -(mx + std::log(sum));
}

InputStats input_stats(const triage_image& img, const InputSpec& in) {
  InputStats s;
  const bool u16 = img.pixel == TRIAGE_PIXEL_U16;
  const double scale = 1.0 / (u16 ? in.max_value_u16 : in.max_value_u8);
  const uint32_t gh = img.height < 64 ? img.height : 64, gw = img.width < 64 ? img.width : 64, c = img.channels;
  // The grid's columns once (a 64-bit division each), not once per grid row: this ran per classified
  // image and the divisions were most of its cost (issue 19).
  uint64_t xs[64];
  for (uint32_t j = 0; j < gw; ++j) xs[j] = (2 * static_cast<uint64_t>(j) + 1) * img.width / (2 * static_cast<uint64_t>(gw));
  double sum = 0, sum2 = 0;
  for (uint32_t i = 0; i < gh; ++i) {
    const uint64_t y = (2 * static_cast<uint64_t>(i) + 1) * img.height / (2 * static_cast<uint64_t>(gh));
    const auto* row = static_cast<const uint8_t*>(img.data) + y * img.row_stride;
    for (uint32_t j = 0; j < gw; ++j) {
      const uint64_t x = xs[j];
      for (uint32_t k = 0; k < c; ++k) {
        const size_t at = static_cast<size_t>(x) * c + k;
        const double v = (u16 ? reinterpret_cast<const uint16_t*>(row)[at] : row[at]) * scale;
        sum += v;
        sum2 += v * v;
      }
    }
  }
  const double n = static_cast<double>(gh) * gw * c;
  const double mean = sum / n;
  const double var = sum2 / n - mean * mean;
  s.mean = static_cast<float>(mean);
  s.std = static_cast<float>(var > 0 ? std::sqrt(var) : 0.0);
  s.known = true;
  return s;
}

bool is_unknown(float s, uint32_t route, const InputStats& in, const RouterThresholds& t) {
  if (!t.has_ood) return false;
  if (static_cast<double>(s) > (route == 1u ? t.ood_fine : t.ood_coarse)) return true;
  if (!in.known) return false;
  const double m = in.mean, d = in.std;
  return m < t.ood_mean_lo || m > t.ood_mean_hi || d < t.ood_std_lo || d > t.ood_std_hi;
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
