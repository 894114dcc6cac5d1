#include "tools/convert/weight_error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace triage::convert {

WeightError weight_error(std::span<const float> ref, std::span<const float> stored) {
  double signal = 0, noise = 0, max_abs = 0;
  const size_t n = std::min(ref.size(), stored.size());
  for (size_t i = 0; i < n; ++i) {
    const double r = ref[i], d = r - double(stored[i]);
    signal += r * r;
    noise += d * d;
    max_abs = std::max(max_abs, std::fabs(d));
  }
  WeightError e;
  e.max_abs = max_abs;
  if (noise == 0) e.snr_db = std::numeric_limits<double>::infinity();
  else if (signal == 0) e.snr_db = -std::numeric_limits<double>::infinity();
  else e.snr_db = 10.0 * std::log10(signal / noise);
  return e;
}

}  // namespace triage::convert
