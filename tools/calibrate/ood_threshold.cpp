#include "tools/calibrate/ood_threshold.h"

#include <algorithm>
#include <cmath>

#include "runtime/router.h"

namespace triage::calib {

namespace {
std::string too_few(size_t n, double alpha, double per) {
  return std::to_string(n) + " images cannot certify a false-flag rate of " + std::to_string(alpha) + " (need at least " +
         std::to_string(static_cast<size_t>(std::ceil(per / alpha)) - 1) + ")";
}
}  // namespace

OodThreshold conformal_threshold(std::vector<float> scores, double alpha_e) {
  OodThreshold o;
  o.n = scores.size();
  const double k = std::ceil((static_cast<double>(o.n) + 1.0) * (1.0 - alpha_e));
  if (!(alpha_e > 0.0 && alpha_e < 1.0) || o.n == 0 || k > static_cast<double>(o.n)) {
    o.why = "energy: " + too_few(o.n, alpha_e, 1.0);
    return o;
  }
  std::sort(scores.begin(), scores.end());
  o.rank = static_cast<size_t>(k);
  o.threshold = scores[o.rank - 1];
  o.bound = (static_cast<double>(o.n) + 1.0 - k) / (static_cast<double>(o.n) + 1.0);
  const auto above = scores.end() - std::upper_bound(scores.begin(), scores.end(), scores[o.rank - 1]);
  o.flagged = static_cast<double>(above) / static_cast<double>(o.n);
  o.ok = std::fabs(o.threshold) <= rt::kMaxOodScore;
  if (!o.ok) o.why = "the energy threshold lies outside the file's range";
  return o;
}

OodRange conformal_range(std::vector<float> values, double alpha_r) {
  OodRange o;
  o.n = values.size();
  const double k = std::floor(alpha_r / 2.0 * (static_cast<double>(o.n) + 1.0));
  if (!(alpha_r > 0.0 && alpha_r < 1.0) || k < 1.0 || 2.0 * k > static_cast<double>(o.n)) {
    o.why = "input range: " + too_few(o.n, alpha_r, 2.0);
    return o;
  }
  std::sort(values.begin(), values.end());
  o.k = static_cast<size_t>(k);
  o.lo = values[o.k - 1];
  o.hi = values[o.n - o.k];
  o.bound = 2.0 * k / (static_cast<double>(o.n) + 1.0);
  o.ok = std::fabs(o.lo) <= rt::kMaxOodScore && std::fabs(o.hi) <= rt::kMaxOodScore;
  if (!o.ok) o.why = "the input range lies outside the file's range";
  return o;
}

OodCalibration calibrate_ood(const ScoreTable& table, double alpha, rt::RouterThresholds& th) {
  OodCalibration c;
  c.coarse = conformal_threshold(table.coarse_ood, alpha / 2);
  c.fine = conformal_threshold(table.fine_ood, alpha / 2);
  c.mean = conformal_range(table.in_mean, alpha / 4);
  c.std = conformal_range(table.in_std, alpha / 4);
  for (const std::string* why : {&c.coarse.why, &c.fine.why, &c.mean.why, &c.std.why})
    if (!why->empty()) {
      c.why = *why;
      return c;
    }
  th.has_ood = true;
  th.ood_coarse = c.coarse.threshold;
  th.ood_fine = c.fine.threshold;
  th.ood_mean_lo = c.mean.lo;
  th.ood_mean_hi = c.mean.hi;
  th.ood_std_lo = c.std.lo;
  th.ood_std_hi = c.std.hi;
  th.ood_false_flag = alpha;
  c.bound = std::max(c.coarse.bound, c.fine.bound) + c.mean.bound + c.std.bound;
  size_t flagged = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    const rt::InputStats in{table.in_mean[i], table.in_std[i], true};
    const bool exits = rt::decide_coarse(table.coarse_row(i), table.ncls, table.good, th).exit;
    flagged += exits ? rt::is_unknown(table.coarse_ood[i], TRIAGE_ROUTE_COARSE, in, th)
                     : rt::is_unknown(table.fine_ood[i], TRIAGE_ROUTE_FINE, in, th);
  }
  c.routed_flagged = table.size() ? static_cast<double>(flagged) / static_cast<double>(table.size()) : 0;
  c.ok = true;
  return c;
}

}  // namespace triage::calib
