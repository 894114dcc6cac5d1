#include "tools/convert/quantize.h"

#include <algorithm>
#include <cmath>

namespace triage::convert {

void quantize_q8_rows(std::span<const float> w, uint64_t rows, std::vector<int8_t>& q, std::vector<float>& scales) {
  q.assign(w.size(), 0);
  scales.assign(static_cast<size_t>(rows), kQ8MinScale);
  if (rows == 0) return;
  const size_t cols = w.size() / rows;
  for (size_t r = 0; r < rows; ++r) {
    const float* row = w.data() + r * cols;
    float amax = 0;
    for (size_t i = 0; i < cols; ++i) amax = std::max(amax, std::fabs(row[i]));
    const float scale = std::max(amax / 127.0f, kQ8MinScale);
    scales[r] = scale;
    for (size_t i = 0; i < cols; ++i) {
      // nearbyint: round half to even in the default rounding mode; |row[i] / scale| <= 127 up to
      // one rounding step, and the clamp absorbs that.
      const float v = std::nearbyint(row[i] / scale);
      q[r * cols + i] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
}

void dequantize_q8_rows(std::span<const int8_t> q, std::span<const float> scales, std::vector<float>& out) {
  out.resize(q.size());
  if (scales.empty()) return;
  const size_t cols = q.size() / scales.size();
  for (size_t i = 0; i < q.size(); ++i) out[i] = float(q[i]) * scales[i / cols];
}

}  // namespace triage::convert
