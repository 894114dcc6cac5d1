// Scalar reference: per-token symmetric int8 quantisation, plain LayerNorm, LN + quantise, GELU.
#include <cmath>

#include "kernels/cpu/internal.h"

namespace triage::kernels::detail {

float gelu_ref(float v) { return 0.5f * v * (1.f + std::erf(v * 0.70710678118654752f)); }

void gelu_f32_scalar(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = gelu_ref(x[i]);
}

static void quantize_row(const float* x, int dim, float amax, int8_t* y, float* scale) {
  if (!(amax > 0.f)) {  // all zeros (or NaN input): scale 0, q 0
    for (int i = 0; i < dim; ++i) y[i] = 0;
    *scale = 0.f;
    return;
  }
  const float inv = 127.f / amax;
  for (int i = 0; i < dim; ++i) {
    float q = std::nearbyint(x[i] * inv);  // round half to even (default rounding mode)
    q = q > 127.f ? 127.f : q < -127.f ? -127.f : q;
    y[i] = int8_t(q);
  }
  *scale = amax / 127.f;
}

void quantize_rows_q8_scalar(const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
                             float* y_scale) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float amax = 0.f;
    for (int i = 0; i < dim; ++i) amax = std::fmax(amax, std::fabs(xr[i]));
    quantize_row(xr, dim, amax, y + r * ldy, y_scale + r);
  }
}

static void ln_row(const float* x, int dim, const float* g, const float* b, float eps, float* y) {
  float sum = 0.f;
  for (int i = 0; i < dim; ++i) sum += x[i];
  const float mean = sum / float(dim);
  float sq = 0.f;
  for (int i = 0; i < dim; ++i) {
    const float d = x[i] - mean;
    sq += d * d;
  }
  const float rstd = 1.f / std::sqrt(sq / float(dim) + eps);
  for (int i = 0; i < dim; ++i) {
    const float v = (x[i] - mean) * rstd;
    y[i] = v * (g ? g[i] : 1.f) + (b ? b[i] : 0.f);
  }
}

void layernorm_f32_scalar(const float* x, int64_t ldx, int rows, int dim, const float* g,
                          const float* b, float eps, float* y, int64_t ldy) {
  for (int r = 0; r < rows; ++r) ln_row(x + r * ldx, dim, g, b, eps, y + r * ldy);
}

void layernorm_quant_q8_scalar(const float* x, int64_t ldx, int rows, int dim, const float* g,
                               const float* b, float eps, int8_t* y, int64_t ldy, float* y_scale) {
  // The reference keeps it plain: normalise one element at a time into a small stack block,
  // quantise from it. Two passes (amax, then quantise) recompute identical values.
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float sum = 0.f;
    for (int i = 0; i < dim; ++i) sum += xr[i];
    const float mean = sum / float(dim);
    float sq = 0.f;
    for (int i = 0; i < dim; ++i) {
      const float d = xr[i] - mean;
      sq += d * d;
    }
    const float rstd = 1.f / std::sqrt(sq / float(dim) + eps);
    auto val = [&](int i) { return ((xr[i] - mean) * rstd) * (g ? g[i] : 1.f) + (b ? b[i] : 0.f); };
    float amax = 0.f;
    for (int i = 0; i < dim; ++i) amax = std::fmax(amax, std::fabs(val(i)));
    int8_t* yr = y + r * ldy;
    if (!(amax > 0.f)) {
      for (int i = 0; i < dim; ++i) yr[i] = 0;
      y_scale[r] = 0.f;
      continue;
    }
    const float inv = 127.f / amax;
    for (int i = 0; i < dim; ++i) {
      float q = std::nearbyint(val(i) * inv);
      q = q > 127.f ? 127.f : q < -127.f ? -127.f : q;
      yr[i] = int8_t(q);
    }
    y_scale[r] = amax / 127.f;
  }
}

}  // namespace triage::kernels::detail
