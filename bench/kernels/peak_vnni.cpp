// AVX-512 VNNI peak: 24 independent vpdpbusd chains.
#include <immintrin.h>

#include "bench/kernels/peak.h"

namespace triage::bench {

double peak_vnni(int64_t iters) {
  __m512i a[24];
  for (int i = 0; i < 24; ++i) a[i] = _mm512_set1_epi32(i);
  const __m512i x = _mm512_set1_epi8(3), w = _mm512_set1_epi8(-2);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) a[i] = _mm512_dpbusd_epi32(a[i], x, w);
    __asm__ volatile("" : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]));
  }
  __m512i s = a[0];
  for (int i = 1; i < 24; ++i) s = _mm512_add_epi32(s, a[i]);
  volatile int sink = _mm512_reduce_add_epi32(s);
  (void)sink;
  return double(iters) * 24 * 128;
}

}  // namespace triage::bench
