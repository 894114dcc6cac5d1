// NEON: per-token quantisation, LayerNorm, LayerNorm + quantisation, GELU.
// Quantisation is bit-identical to the scalar reference: exact amax (FMAXNM ignores NaN as fmax does),
// the same f32 division for 127/amax, the same product, FCVTNS rounds half to even like nearbyint and
// saturates, then the clamp to [-127, 127]. LayerNorm sums in 4 lanes x 2 (a different order from the
// scalar loop, as on AVX2: |diff| ~ dim * eps relative to the row's scale); the normalisation itself
// is (x - mean) * rstd * g + b without FMA, so vector body and scalar tail agree.
#include <cmath>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_neon.h"

namespace triage::kernels::detail {
namespace {

static inline float amax_row(const float* x, int dim) {
  float32x4_t m = vdupq_n_f32(0.f);
  int i = 0;
  for (; i + 4 <= dim; i += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + i)));
  float a = vmaxnmvq_f32(m);
  for (; i < dim; ++i) a = std::fmax(a, std::fabs(x[i]));
  return a;
}

// 4 quantised values (low 4 bytes of the result).
static inline int8x8_t q8_of(float32x4_t v, float32x4_t inv) {
  int32x4_t q = vcvtnq_s32_f32(vmulq_f32(v, inv));
  q = vmaxq_s32(vminq_s32(q, vdupq_n_s32(127)), vdupq_n_s32(-127));
  const int16x4_t h = vmovn_s32(q);
  return vmovn_s16(vcombine_s16(h, h));
}
static inline void store4(int8_t* y, int8x8_t q) { vst1_lane_s32(reinterpret_cast<int32_t*>(y), vreinterpret_s32_s8(q), 0); }

static inline int8_t q8_scalar(float v, float inv) {
  float q = std::nearbyint(v * inv);
  q = q > 127.f ? 127.f : q < -127.f ? -127.f : q;
  return int8_t(q);
}

struct LnStats {
  float mean, rstd;
};

static inline LnStats ln_stats(const float* x, int dim, float eps) {
  float32x4_t s0 = vdupq_n_f32(0.f), s1 = vdupq_n_f32(0.f);
  int i = 0;
  for (; i + 8 <= dim; i += 8) {
    s0 = vaddq_f32(s0, vld1q_f32(x + i));
    s1 = vaddq_f32(s1, vld1q_f32(x + i + 4));
  }
  float sum = hsum_neon(vaddq_f32(s0, s1));
  for (; i < dim; ++i) sum += x[i];
  const float mean = sum / float(dim);
  const float32x4_t mv = vdupq_n_f32(mean);
  float32x4_t q0 = vdupq_n_f32(0.f), q1 = vdupq_n_f32(0.f);
  i = 0;
  for (; i + 8 <= dim; i += 8) {
    const float32x4_t d0 = vsubq_f32(vld1q_f32(x + i), mv), d1 = vsubq_f32(vld1q_f32(x + i + 4), mv);
    q0 = vfmaq_f32(q0, d0, d0);
    q1 = vfmaq_f32(q1, d1, d1);
  }
  float sq = hsum_neon(vaddq_f32(q0, q1));
  for (; i < dim; ++i) {
    const float d = x[i] - mean;
    sq += d * d;
  }
  return {mean, 1.f / std::sqrt(sq / float(dim) + eps)};
}

static inline float32x4_t ln_vec(const float* x, int i, LnStats st, const float* g, const float* b) {
  float32x4_t v = vmulq_f32(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(st.mean)), vdupq_n_f32(st.rstd));
  v = vmulq_f32(v, g ? vld1q_f32(g + i) : vdupq_n_f32(1.f));
  return vaddq_f32(v, b ? vld1q_f32(b + i) : vdupq_n_f32(0.f));
}
static inline float ln_one(const float* x, int i, LnStats st, const float* g, const float* b) {
  const float v = (x[i] - st.mean) * st.rstd;
  return v * (g ? g[i] : 1.f) + (b ? b[i] : 0.f);
}

}  // namespace

void quantize_rows_q8_neon(const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
                           float* y_scale) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    int8_t* yr = y + r * ldy;
    const float amax = amax_row(xr, dim);
    if (!(amax > 0.f)) {
      for (int i = 0; i < dim; ++i) yr[i] = 0;
      y_scale[r] = 0.f;
      continue;
    }
    const float inv = 127.f / amax;
    const float32x4_t iv = vdupq_n_f32(inv);
    int i = 0;
    for (; i + 4 <= dim; i += 4) store4(yr + i, q8_of(vld1q_f32(xr + i), iv));
    for (; i < dim; ++i) yr[i] = q8_scalar(xr[i], inv);
    y_scale[r] = amax / 127.f;
  }
}

void layernorm_f32_neon(const float* x, int64_t ldx, int rows, int dim, const float* g,
                        const float* b, float eps, float* y, int64_t ldy) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    const LnStats st = ln_stats(xr, dim, eps);
    int i = 0;
    for (; i + 4 <= dim; i += 4) vst1q_f32(yr + i, ln_vec(xr, i, st, g, b));
    for (; i < dim; ++i) yr[i] = ln_one(xr, i, st, g, b);
  }
}

void layernorm_quant_q8_neon(const float* x, int64_t ldx, int rows, int dim, const float* g,
                             const float* b, float eps, int8_t* y, int64_t ldy, float* y_scale) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    int8_t* yr = y + r * ldy;
    const LnStats st = ln_stats(xr, dim, eps);
    // Pass 1: amax of the normalised row; pass 2 recomputes the same values and quantises.
    float32x4_t m = vdupq_n_f32(0.f);
    int i = 0;
    for (; i + 4 <= dim; i += 4) m = vmaxnmq_f32(m, vabsq_f32(ln_vec(xr, i, st, g, b)));
    float amax = vmaxnmvq_f32(m);
    for (; i < dim; ++i) amax = std::fmax(amax, std::fabs(ln_one(xr, i, st, g, b)));
    if (!(amax > 0.f)) {
      for (int t = 0; t < dim; ++t) yr[t] = 0;
      y_scale[r] = 0.f;
      continue;
    }
    const float inv = 127.f / amax;
    const float32x4_t iv = vdupq_n_f32(inv);
    i = 0;
    for (; i + 4 <= dim; i += 4) store4(yr + i, q8_of(ln_vec(xr, i, st, g, b), iv));
    for (; i < dim; ++i) yr[i] = q8_scalar(ln_one(xr, i, st, g, b), inv);
    y_scale[r] = amax / 127.f;
  }
}

void gelu_f32_neon(float* x, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(x + i, gelu_neon(vld1q_f32(x + i)));
  if (i < n) {
    float t[4] = {0.f, 0.f, 0.f, 0.f};
    for (size_t c = 0; i + c < n; ++c) t[c] = x[i + c];
    vst1q_f32(t, gelu_neon(vld1q_f32(t)));
    for (size_t c = 0; i + c < n; ++c) x[i + c] = t[c];
  }
}

}  // namespace triage::kernels::detail
