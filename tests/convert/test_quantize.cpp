// q8 quantisation and f16/bf16 casts: per-element error bounds and SNR on random weights.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>

#include "tools/convert/cast.h"
#include "tools/convert/quantize.h"
#include "tools/convert/weight_error.h"

namespace triage::convert {
namespace {

std::vector<float> random_weights(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(Q8, PerElementErrorWithinHalfAScaleAndSnrAbove38dB) {
  const uint64_t rows = 48, cols = 200;
  // Rows of very different magnitudes: per-row scales must adapt.
  std::vector<float> w = random_weights(rows * cols, 11, 1.0f);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) w[r * cols + c] *= std::pow(10.0f, float(r % 6) - 3.0f);
  std::vector<int8_t> q;
  std::vector<float> scales, back;
  quantize_q8_rows(w, rows, q, scales);
  dequantize_q8_rows(q, scales, back);
  ASSERT_EQ(scales.size(), rows);
  for (uint64_t r = 0; r < rows; ++r) {
    float amax = 0;
    for (uint64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(w[r * cols + c]));
    EXPECT_FLOAT_EQ(scales[r], amax / 127.0f) << "row " << r;
    for (uint64_t c = 0; c < cols; ++c) {
      const size_t i = r * cols + c;
      EXPECT_GE(q[i], -127);
      EXPECT_LE(std::fabs(back[i] - w[i]), scales[r] * 0.5f * (1 + 1e-5f) + FLT_MIN) << "row " << r << " col " << c;
    }
  }
  // Gaussian rows of 200 values: max ~ 2.7 sigma, step = max / 127, noise = step^2 / 12 -> ~44 dB.
  WeightError e = weight_error(w, back);
  EXPECT_GT(e.snr_db, 38.0);
  EXPECT_LT(e.snr_db, 60.0);  // it is a real quantisation, not a copy
}

TEST(Q8, ZeroRowGetsTheFloorScaleAndStaysExact) {
  std::vector<float> w = random_weights(3 * 16, 3, 0.1f);
  std::fill(w.begin() + 16, w.begin() + 32, 0.0f);
  std::vector<int8_t> q;
  std::vector<float> scales, back;
  quantize_q8_rows(w, 3, q, scales);
  EXPECT_EQ(scales[1], kQ8MinScale);
  dequantize_q8_rows(q, scales, back);
  for (int i = 16; i < 32; ++i) EXPECT_EQ(back[i], 0.0f);
}

TEST(Q8, ExtremesMapToPlusMinus127AndTiesRoundToEven) {
  // max |w| = 127 -> scale 1: values are integers or exact halves.
  std::vector<float> w = {127.0f, -127.0f, 2.5f, 3.5f, -2.5f, 0.49f};
  std::vector<int8_t> q;
  std::vector<float> scales;
  quantize_q8_rows(w, 1, q, scales);
  EXPECT_EQ(scales[0], 1.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{127, -127, 2, 4, -2, 0}));
}

TEST(Cast, F16AndBf16ErrorBounds) {
  std::vector<float> w = random_weights(4096, 5, 0.05f);
  w.push_back(1e-6f);  // f16 subnormal range
  w.push_back(60000.0f);
  for (trw::DType t : {trw::DType::F16, trw::DType::BF16}) {
    std::vector<uint16_t> h;
    std::vector<float> back;
    Error err;
    ASSERT_TRUE(cast_16bit(w, t, "w", h, err)) << err.message;
    uncast_16bit(h, t, back);
    // Round to nearest: relative error <= 2^-(mantissa bits + 1); f16 subnormals: absolute 2^-25.
    const double rel = t == trw::DType::F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
    const double abs_floor = t == trw::DType::F16 ? std::ldexp(1.0, -25) : 0.0;
    for (size_t i = 0; i < w.size(); ++i)
      EXPECT_LE(std::fabs(double(back[i]) - w[i]), std::fabs(double(w[i])) * rel + abs_floor)
          << trw::dtype_name(t) << " element " << i << " value " << w[i];
    WeightError e = weight_error(w, back);
    EXPECT_GT(e.snr_db, t == trw::DType::F16 ? 65.0 : 45.0) << trw::dtype_name(t);
  }
}

TEST(Cast, F16OverflowIsRefused) {
  std::vector<float> w = {1.0f, 70000.0f};
  std::vector<uint16_t> h;
  Error err;
  EXPECT_FALSE(cast_16bit(w, trw::DType::F16, "tensor 'x'", h, err));
  EXPECT_EQ(err.code, Errc::Unsupported);
  EXPECT_NE(err.message.find("tensor 'x'"), std::string::npos);
  EXPECT_NE(err.message.find("element 1"), std::string::npos);
  EXPECT_TRUE(cast_16bit(w, trw::DType::BF16, "tensor 'x'", h, err));  // bf16 has f32's range
}

TEST(WeightError, ExactIsInfiniteSnr) {
  std::vector<float> a = {1, 2, 3};
  WeightError e = weight_error(a, a);
  EXPECT_EQ(e.max_abs, 0.0);
  EXPECT_TRUE(std::isinf(e.snr_db) && e.snr_db > 0);
  std::vector<float> b = {1, 2, 4};
  e = weight_error(a, b);
  EXPECT_EQ(e.max_abs, 1.0);
  EXPECT_NEAR(e.snr_db, 10 * std::log10(14.0), 1e-12);
}

}  // namespace
}  // namespace triage::convert
