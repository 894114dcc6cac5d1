// q8: symmetric int8 with one f32 scale per output channel (row = dims[0] index; for a conv weight
// [out, in, kh, kw] a row is one output channel's in*kh*kw values).
//   scale = max(max|w_row| / 127, kQ8MinScale),  q = clamp(round_half_even(w / scale), -127, 127)
// The floor kQ8MinScale keeps scales normal and non-zero: an all-zero row gets scale 1e-8 and
// dequantises to exact zeros; rows with max|w| < 127e-8 lose nothing that matters (|w| < 1.3e-6).
// -128 is never used, so the code is symmetric and |q * scale - w| <= scale / 2 for every element.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace triage::convert {

inline constexpr float kQ8MinScale = 1.0e-8f;

// w: rows * cols values (finite). Fills q (rows * cols) and scales (rows).
void quantize_q8_rows(std::span<const float> w, uint64_t rows, std::vector<int8_t>& q, std::vector<float>& scales);

// q[i] * scales[row of i], as the runtime reads it.
void dequantize_q8_rows(std::span<const int8_t> q, std::span<const float> scales, std::vector<float>& out);

}  // namespace triage::convert
