// The softmax pieces of the AVX2 and AVX-512 attention kernels (attention_f32_avx2.cpp,
// attention_f32_avx512.cpp), shared so the two give the same bits: the running max over a score tile,
// exp and the tile's sum in one fixed order, and the CLS query's probability row. 256-bit code (the
// AVX-512 file is compiled with AVX2 too); a small share of attention's work.
#pragma once

#include <cmath>

#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

// In place p = exp(s - m) over [0, len) (lanes past len computed but ignored); returns sum p over
// [0, len) in a fixed order (8 lanes, then horizontal).
static inline float exp_sum(float* s, int len, float m) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sum = _mm256_setzero_ps();
  int t = 0;
  for (; t + 8 <= len; t += 8) {
    const __m256 p = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + t), mv));
    _mm256_storeu_ps(s + t, p);
    sum = _mm256_add_ps(sum, p);
  }
  if (t < len) {
    const __m256i mask = mask_first_avx2(len - t);
    const __m256 p = _mm256_and_ps(exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + t), mv)), _mm256_castsi256_ps(mask));
    _mm256_storeu_ps(s + t, p);
    sum = _mm256_add_ps(sum, p);
  }
  return hsum_avx2(sum);
}

// max over [0, len); lanes past len (scores of zero-padded keys) are excluded.
static inline float max_of(const float* s, int len) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int t = 0;
  for (; t + 8 <= len; t += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + t));
  if (t < len) {
    const __m256i mk = mask_first_avx2(len - t);  // maskload: s may end at len (cls_probs)
    const __m256 tail = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(s + t, mk),
                                         _mm256_castsi256_ps(mk));
    m = _mm256_max_ps(m, tail);
  }
  return hmax_avx2(m);
}

// The CLS query's scores p[0, n) -> its probabilities, in place (max, exp, sum in key order, scale).
static inline void cls_softmax(float* p, int n) {
  const float m = max_of(p, n);
  float l = 0.f;
  for (int t = 0; t < n; ++t) {
    p[t] = std::exp(p[t] - m);
    l += p[t];
  }
  const float inv = 1.f / l;
  for (int t = 0; t < n; ++t) p[t] *= inv;
}

}  // namespace
}  // namespace triage::kernels::detail
