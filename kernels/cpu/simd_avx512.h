// AVX-512 helpers for the *_avx512*.cpp / *_amx.cpp files only (compiled with -mavx512f/bw/dq/vl).
// `static inline` in an anonymous namespace: each ISA file keeps its own copy (see internal.h).
#pragma once

#ifdef TRIAGE_SIMD_EMULATED
#include "kernels/cpu/simd_emulated_avx512.h"  // the CI build of these files without the hardware
// Register pinning is meaningless for emulated (in-memory) vectors.
#define TRIAGE_PIN_ZMM2(a, b) ((void)0)
#else
#include <immintrin.h>
// Keeps two accumulators each in one zmm (GCC 12 otherwise copies and spills 24 live ones).
#define TRIAGE_PIN_ZMM2(a, b) __asm__("" : "+v"(a), "+v"(b))
#endif

#include <cstdint>

#include "kernels/cpu/internal.h"

namespace triage::kernels::detail {
namespace {

static inline __mmask16 mask16(int n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// Same rational erf as erf_avx2 (simd_avx2.h): identical coefficients and operation order.
static inline __m512 erf_avx512(__m512 a) {
  const __m512 x = _mm512_max_ps(_mm512_min_ps(a, _mm512_set1_ps(4.f)), _mm512_set1_ps(-4.f));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_fmadd_ps(x2, _mm512_set1_ps(-2.72614225801306e-10f), _mm512_set1_ps(2.77068142495902e-08f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02f));
  p = _mm512_mul_ps(x, p);
  __m512 q = _mm512_fmadd_ps(x2, _mm512_set1_ps(-1.45660718464996e-05f), _mm512_set1_ps(-2.13374055278905e-04f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02f));
  const __m512 r = _mm512_div_ps(p, q);  // clamped like erf_avx2
  return _mm512_max_ps(_mm512_min_ps(r, _mm512_set1_ps(1.f)), _mm512_set1_ps(-1.f));
}

static inline __m512 gelu_avx512(__m512 v) {
  const __m512 e = erf_avx512(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.f), e));
}

// Epilogue of 16 f32 values at columns [j, j + 16) of row pointer yr (only the first nv < 16
// when masked). Same operation order as the scalar reference.
static inline void store16(__m512 v, const GemmOut& o, int j, float* yr, int nv) {
  const __mmask16 m = mask16(nv);
  if (o.bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, o.bias + j));
  if (o.gelu) v = gelu_avx512(v);
  if (o.accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, yr + j), v);
  _mm512_mask_storeu_ps(yr + j, m, v);
}

// q8 dequantisation: (float)acc * (xs * ws[j..j+16)), ws padded to np.
static inline __m512 dequant16(__m512i acc, float xs, const float* ws, int j) {
  const __m512 sc = _mm512_mul_ps(_mm512_set1_ps(xs), _mm512_loadu_ps(ws + j));
  return _mm512_mul_ps(_mm512_cvtepi32_ps(acc), sc);
}

}  // namespace
}  // namespace triage::kernels::detail
