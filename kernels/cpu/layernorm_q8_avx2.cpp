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

// Rows are processed R at a time (R <= kRows) with their operations interleaved: each row's sums and
// maxima are still one chain in the same order as a row alone (so the bits do not depend on R or on
// how rows are grouped), but R independent chains hide the add / FMA latency a single chain waits on.
constexpr int kRows = 4;

template <int R>
static inline void ln_stats(const float* const* x, int dim, float eps, LnStats* st) {
  __m256 s[R];
  for (int r = 0; r < R; ++r) s[r] = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= dim; i += 8)
    for (int r = 0; r < R; ++r) s[r] = _mm256_add_ps(s[r], _mm256_loadu_ps(x[r] + i));
  float mean[R];
  for (int r = 0; r < R; ++r) {
    float sum = hsum_avx2(s[r]);
    for (int t = i; t < dim; ++t) sum += x[r][t];
    mean[r] = sum / float(dim);
  }
  __m256 q[R], mv[R];
  for (int r = 0; r < R; ++r) {
    q[r] = _mm256_setzero_ps();
    mv[r] = _mm256_set1_ps(mean[r]);
  }
  i = 0;
  for (; i + 8 <= dim; i += 8)
    for (int r = 0; r < R; ++r) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x[r] + i), mv[r]);
      q[r] = _mm256_fmadd_ps(d, d, q[r]);
    }
  for (int r = 0; r < R; ++r) {
    float sq = hsum_avx2(q[r]);
    for (int t = i; t < dim; ++t) {
      const float d = x[r][t] - mean[r];
      sq += d * d;
    }
    st[r] = {mean[r], 1.f / std::sqrt(sq / float(dim) + eps)};
  }
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

// One row's int8 values round(v(t) * 127 / amax), clamped to +-127, and its scale amax / 127; zeros
// and scale 0 for a row whose amax is 0 (or NaN). vec(t): the 8 values at t; one(t): the value at t.
template <class Vec, class One>
static inline void quantize_row(int8_t* yr, float* scale, int dim, float amax, Vec vec, One one) {
  if (!(amax > 0.f)) {
    for (int t = 0; t < dim; ++t) yr[t] = 0;
    *scale = 0.f;
    return;
  }
  const float inv = 127.f / amax;
  const __m256 iv = _mm256_set1_ps(inv);
  int t = 0;
  for (; t + 8 <= dim; t += 8) _mm_storel_epi64(reinterpret_cast<__m128i*>(yr + t), q8_of(vec(t), iv));
  for (; t < dim; ++t) yr[t] = q8_scalar(one(t), inv);
  *scale = amax / 127.f;
}

// Runs body<R>(r0) over rows [0, rows) in groups of kRows, the rest in one smaller group.
template <class Body>
static inline void row_groups(int rows, Body&& body) {
  int r = 0;
  for (; r + kRows <= rows; r += kRows) body.template operator()<kRows>(r);
  switch (rows - r) {
    case 3: body.template operator()<3>(r); break;
    case 2: body.template operator()<2>(r); break;
    case 1: body.template operator()<1>(r); break;
    default: break;
  }
}

}  // namespace

void quantize_rows_q8_avx2(const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
                           float* y_scale) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  row_groups(rows, [&]<int R>(int r0) {
    const float* xr[R];
    float amax[R];
    __m256 m[R];
    for (int r = 0; r < R; ++r) {
      xr[r] = x + (r0 + r) * ldx;
      m[r] = _mm256_setzero_ps();
    }
    int i = 0;
    for (; i + 8 <= dim; i += 8)
      for (int r = 0; r < R; ++r) m[r] = _mm256_max_ps(m[r], _mm256_andnot_ps(sign, _mm256_loadu_ps(xr[r] + i)));
    for (int r = 0; r < R; ++r) {
      amax[r] = hmax_avx2(m[r]);
      for (int t = i; t < dim; ++t) amax[r] = std::fmax(amax[r], std::fabs(xr[r][t]));
    }
    for (int r = 0; r < R; ++r)
      quantize_row(y + (r0 + r) * ldy, y_scale + r0 + r, dim, amax[r], [&](int t) { return _mm256_loadu_ps(xr[r] + t); },
                   [&](int t) { return xr[r][t]; });
  });
}

void layernorm_f32_avx2(const float* x, int64_t ldx, int rows, int dim, const float* g,
                        const float* b, float eps, float* y, int64_t ldy) {
  row_groups(rows, [&]<int R>(int r0) {
    const float* xr[R];
    LnStats st[R];
    for (int r = 0; r < R; ++r) xr[r] = x + (r0 + r) * ldx;
    ln_stats<R>(xr, dim, eps, st);
    for (int r = 0; r < R; ++r) {
      float* yr = y + (r0 + r) * ldy;
      int i = 0;
      for (; i + 8 <= dim; i += 8) _mm256_storeu_ps(yr + i, ln_vec(xr[r], i, st[r], g, b));
      for (; i < dim; ++i) yr[i] = ln_one(xr[r], i, st[r], g, b);
    }
  });
}

void layernorm_quant_q8_avx2(const float* x, int64_t ldx, int rows, int dim, const float* g,
                             const float* b, float eps, int8_t* y, int64_t ldy, float* y_scale) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  row_groups(rows, [&]<int R>(int r0) {
    const float* xr[R];
    LnStats st[R];
    for (int r = 0; r < R; ++r) xr[r] = x + (r0 + r) * ldx;
    ln_stats<R>(xr, dim, eps, st);
    // Pass 1: amax of the normalised rows; pass 2 recomputes the same values and quantises.
    __m256 m[R];
    float amax[R];
    for (int r = 0; r < R; ++r) m[r] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= dim; i += 8)
      for (int r = 0; r < R; ++r) m[r] = _mm256_max_ps(m[r], _mm256_andnot_ps(sign, ln_vec(xr[r], i, st[r], g, b)));
    for (int r = 0; r < R; ++r) {
      amax[r] = hmax_avx2(m[r]);
      for (int t = i; t < dim; ++t) amax[r] = std::fmax(amax[r], std::fabs(ln_one(xr[r], t, st[r], g, b)));
    }
    for (int r = 0; r < R; ++r)
      quantize_row(y + (r0 + r) * ldy, y_scale + r0 + r, dim, amax[r],
                   [&](int t) { return ln_vec(xr[r], t, st[r], g, b); }, [&](int t) { return ln_one(xr[r], t, st[r], g, b); });
  });
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
