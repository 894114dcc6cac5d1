// NEON helpers for the *_neon.cpp files only (aarch64; Advanced SIMD is baseline there, no flags).
// Everything is `static inline` so each ISA file keeps its own copy (see internal.h).
// erf / GELU / exp are the AVX2 ones (simd_avx2.h) operation for operation: the same constants, FMA
// where AVX2 has FMA, the same clamps.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

namespace triage::kernels::detail {
namespace {

static inline float hsum_neon(float32x4_t v) { return vaddvq_f32(v); }
static inline float hmax_neon(float32x4_t v) { return vmaxvq_f32(v); }

// erf(x): rational approximation x P(x^2) / Q(x^2) on [-4, 4] (Eigen/XLA), clamped outside and to
// [-1, 1]; max abs error vs std::erf 3.3e-7 (test GeluErf.MaxError).
static inline float32x4_t erf_neon(float32x4_t a) {
  const float32x4_t x = vmaxq_f32(vminq_f32(a, vdupq_n_f32(4.f)), vdupq_n_f32(-4.f));
  const float32x4_t x2 = vmulq_f32(x, x);
  float32x4_t p = vfmaq_f32(vdupq_n_f32(2.77068142495902e-08f), x2, vdupq_n_f32(-2.72614225801306e-10f));
  p = vfmaq_f32(vdupq_n_f32(-2.10102402082508e-06f), x2, p);
  p = vfmaq_f32(vdupq_n_f32(-5.69250639462346e-05f), x2, p);
  p = vfmaq_f32(vdupq_n_f32(-7.34990630326855e-04f), x2, p);
  p = vfmaq_f32(vdupq_n_f32(-2.95459980854025e-03f), x2, p);
  p = vfmaq_f32(vdupq_n_f32(-1.60960333262415e-02f), x2, p);
  p = vmulq_f32(x, p);
  float32x4_t q = vfmaq_f32(vdupq_n_f32(-2.13374055278905e-04f), x2, vdupq_n_f32(-1.45660718464996e-05f));
  q = vfmaq_f32(vdupq_n_f32(-1.68282697438203e-03f), x2, q);
  q = vfmaq_f32(vdupq_n_f32(-7.37332916720468e-03f), x2, q);
  q = vfmaq_f32(vdupq_n_f32(-1.42647390514189e-02f), x2, q);
  const float32x4_t r = vdivq_f32(p, q);
  return vmaxq_f32(vminq_f32(r, vdupq_n_f32(1.f)), vdupq_n_f32(-1.f));
}

// GELU(v) = 0.5 v (1 + erf(v / sqrt 2)).
static inline float32x4_t gelu_neon(float32x4_t v) {
  const float32x4_t e = erf_neon(vmulq_f32(v, vdupq_n_f32(0.70710678118654752f)));
  return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), v), vaddq_f32(vdupq_n_f32(1.f), e));
}

// exp(x) for softmax (x <= 0 in practice): x = n ln2 + r, degree-5 polynomial for e^r, 2^n through
// the exponent bits. ~2 ulp; inputs below -87 flush towards 0.
static inline float32x4_t exp_neon(float32x4_t x) {
  x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(88.3762626647949f)), vdupq_n_f32(-87.3365447504f));
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.9875691500E-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507E-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073E-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894E-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459E-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201E-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.f)), p, vmulq_f32(r, r));
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

// The float GEMM epilogue on 4 columns j .. j+3 of one row (bias, GELU, residual), nv (1..4) of them
// valid: the invalid lanes read nothing (bias / y staged through a zeroed block) and are not stored.
struct EpiNeon {
  const float* bias;
  bool gelu;
  bool accumulate;
};
static inline void epilogue_store_neon(float32x4_t v, const EpiNeon& e, int j, float* yp, int nv) {
  if (nv >= 4) {
    if (e.bias) v = vaddq_f32(v, vld1q_f32(e.bias + j));
    if (e.gelu) v = gelu_neon(v);
    if (e.accumulate) v = vaddq_f32(vld1q_f32(yp), v);
    vst1q_f32(yp, v);
    return;
  }
  float t[4] = {0.f, 0.f, 0.f, 0.f};
  if (e.bias) {
    for (int c = 0; c < nv; ++c) t[c] = e.bias[j + c];
    v = vaddq_f32(v, vld1q_f32(t));
  }
  if (e.gelu) v = gelu_neon(v);
  if (e.accumulate) {
    for (int c = 0; c < nv; ++c) t[c] = yp[c];
    v = vaddq_f32(vld1q_f32(t), v);
  }
  vst1q_f32(t, v);
  for (int c = 0; c < nv; ++c) yp[c] = t[c];
}

// Four int8 of a row (one k-quad) replicated into all four 32-bit lanes (the q8 GEMMs' x operand).
static inline int8x16_t dup_quad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

// The last n < 4 bytes of a row, zero-padded, replicated. A byte loop, not a memcpy of variable size.
static inline int8x16_t dup_quad_tail(const int8_t* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint32_t(uint8_t(p[i])) << (8 * i);
  return vreinterpretq_s8_u32(vdupq_n_u32(v));
}

}  // namespace
}  // namespace triage::kernels::detail
