// AVX2 peaks: 12 independent FMA chains (more than 2 ports x 4-5 cycles latency).
#include <immintrin.h>

#include "bench/kernels/peak.h"

namespace triage::bench {

double peak_fma_avx2(int64_t iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.f + i * 1e-3f);
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
    __asm__ volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]));
  }
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  volatile float sink = _mm256_cvtss_f32(s);
  (void)sink;
  return double(iters) * 12 * 16;
}

double peak_madd_avx2(int64_t iters) {
  __m256i a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm256_set1_epi32(i);
  const __m256i x = _mm256_set1_epi16(3), w = _mm256_set1_epi16(-2);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 10
    for (int i = 0; i < 10; ++i) a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(x, w));
    __asm__ volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]));
  }
  __m256i s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_epi32(s, a[i]);
  volatile int sink = _mm256_cvtsi256_si32(s);
  (void)sink;
  return double(iters) * 10 * 32;
}

}  // namespace triage::bench
