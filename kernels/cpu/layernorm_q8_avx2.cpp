// AVX2: per-token quantisation, LayerNorm, LayerNorm + quantisation, GELU.
// Quantisation is bit-identical to the scalar reference (exact amax, the same f32 division for
// 127/amax, the same product, cvtps2dq rounds half to even like nearbyint). LayerNorm sums in 8
// lanes (a different order from the scalar loop: |diff| ~ dim * eps relative to the row's scale).
#include <cmath>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

static inline float amax_row(const float* x, int dim) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  __m256 m = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= dim; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  float a = hmax_avx2(m);
  for (; i < dim; ++i) a = std::fmax(a, std::fabs(x[i]));
  return a;
}

static inline __m128i q8_of(__m256 v, __m256 inv) {
  __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(v, inv));
  q = _mm256_max_epi32(_mm256_min_epi32(q, _mm256_set1_epi32(127)), _mm256_set1_epi32(-127));
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  return _mm_packs_epi16(w, w);  // low 8 bytes
}

static inline int8_t q8_scalar(float v, float inv) {
  float q = std::nearbyint(v * inv);
  q = q > 127.f ? 127.f : q < -127.f ? -127.f : q;
  return int8_t(q);
}

struct LnStats {
  float mean, rstd;
};

static inline LnStats ln_stats(const float* x, int dim, float eps) {
  __m256 s = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= dim; i += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
  float sum = hsum_avx2(s);
  for (; i < dim; ++i) sum += x[i];
  const float mean = sum / float(dim);
  const __m256 mv = _mm256_set1_ps(mean);
  __m256 q = _mm256_setzero_ps();
  i = 0;
  for (; i + 8 <= dim; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), mv);
    q = _mm256_fmadd_ps(d, d, q);
  }
  float sq = hsum_avx2(q);
  for (; i < dim; ++i) {
    const float d = x[i] - mean;
    sq += d * d;
  }
  return {mean, 1.f / std::sqrt(sq / float(dim) + eps)};
}

// y = ((x - mean) * rstd) * g + b, without FMA so vector body and scalar tail agree.
static inline __m256 ln_vec(const float* x, int i, LnStats st, const float* g, const float* b) {
  __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(st.mean)),
                           _mm256_set1_ps(st.rstd));
  v = _mm256_mul_ps(v, g ? _mm256_loadu_ps(g + i) : _mm256_set1_ps(1.f));
  return _mm256_add_ps(v, b ? _mm256_loadu_ps(b + i) : _mm256_setzero_ps());
}
static inline float ln_one(const float* x, int i, LnStats st, const float* g, const float* b) {
  const float v = (x[i] - st.mean) * st.rstd;
  return v * (g ? g[i] : 1.f) + (b ? b[i] : 0.f);
}

}  // namespace

void quantize_rows_q8_avx2(const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
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
    const __m256 iv = _mm256_set1_ps(inv);
    int i = 0;
    for (; i + 8 <= dim; i += 8) _mm_storel_epi64(reinterpret_cast<__m128i*>(yr + i), q8_of(_mm256_loadu_ps(xr + i), iv));
    for (; i < dim; ++i) yr[i] = q8_scalar(xr[i], inv);
    y_scale[r] = amax / 127.f;
  }
}

void layernorm_f32_avx2(const float* x, int64_t ldx, int rows, int dim, const float* g,
                        const float* b, float eps, float* y, int64_t ldy) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    const LnStats st = ln_stats(xr, dim, eps);
    int i = 0;
    for (; i + 8 <= dim; i += 8) _mm256_storeu_ps(yr + i, ln_vec(xr, i, st, g, b));
    for (; i < dim; ++i) yr[i] = ln_one(xr, i, st, g, b);
  }
}

void layernorm_quant_q8_avx2(const float* x, int64_t ldx, int rows, int dim, const float* g,
                             const float* b, float eps, int8_t* y, int64_t ldy, float* y_scale) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    int8_t* yr = y + r * ldy;
    const LnStats st = ln_stats(xr, dim, eps);
    // Pass 1: amax of the normalised row; pass 2 recomputes the same values and quantises.
    __m256 m = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= dim; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, ln_vec(xr, i, st, g, b)));
    float amax = hmax_avx2(m);
    for (; i < dim; ++i) amax = std::fmax(amax, std::fabs(ln_one(xr, i, st, g, b)));
    if (!(amax > 0.f)) {
      for (int t = 0; t < dim; ++t) yr[t] = 0;
      y_scale[r] = 0.f;
      continue;
    }
    const float inv = 127.f / amax;
    const __m256 iv = _mm256_set1_ps(inv);
    i = 0;
    for (; i + 8 <= dim; i += 8) _mm_storel_epi64(reinterpret_cast<__m128i*>(yr + i), q8_of(ln_vec(xr, i, st, g, b), iv));
    for (; i < dim; ++i) yr[i] = q8_scalar(ln_one(xr, i, st, g, b), inv);
    y_scale[r] = amax / 127.f;
  }
}

void gelu_f32_avx2(float* x, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu_avx2(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = mask_first_avx2(int(n - i));
    _mm256_maskstore_ps(x + i, m, gelu_avx2(_mm256_maskload_ps(x + i, m)));
  }
}

}  // namespace triage::kernels::detail
