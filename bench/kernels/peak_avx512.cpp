// AVX-512 FMA peak in inline asm: 24 independent zmm chains.
#include <cstdint>

#include "bench/kernels/peak.h"

namespace triage::bench {

double peak_fma_avx512(int64_t iters) {
  __asm__ volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n" "vpxord %%zmm1, %%zmm1, %%zmm1\n" "vpxord %%zmm2, %%zmm2, %%zmm2\n" "vpxord %%zmm3, %%zmm3, %%zmm3\n" "vpxord %%zmm4, %%zmm4, %%zmm4\n" "vpxord %%zmm5, %%zmm5, %%zmm5\n" "vpxord %%zmm6, %%zmm6, %%zmm6\n" "vpxord %%zmm7, %%zmm7, %%zmm7\n" "vpxord %%zmm8, %%zmm8, %%zmm8\n" "vpxord %%zmm9, %%zmm9, %%zmm9\n" "vpxord %%zmm10, %%zmm10, %%zmm10\n" "vpxord %%zmm11, %%zmm11, %%zmm11\n" "vpxord %%zmm12, %%zmm12, %%zmm12\n" "vpxord %%zmm13, %%zmm13, %%zmm13\n" "vpxord %%zmm14, %%zmm14, %%zmm14\n" "vpxord %%zmm15, %%zmm15, %%zmm15\n" "vpxord %%zmm16, %%zmm16, %%zmm16\n" "vpxord %%zmm17, %%zmm17, %%zmm17\n" "vpxord %%zmm18, %%zmm18, %%zmm18\n" "vpxord %%zmm19, %%zmm19, %%zmm19\n" "vpxord %%zmm20, %%zmm20, %%zmm20\n" "vpxord %%zmm21, %%zmm21, %%zmm21\n" "vpxord %%zmm22, %%zmm22, %%zmm22\n" "vpxord %%zmm23, %%zmm23, %%zmm23\n" "vpxord %%zmm30, %%zmm30, %%zmm30\n" "vpxord %%zmm31, %%zmm31, %%zmm31\n" ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm30", "xmm31");
  for (int64_t it = 0; it < iters; ++it) {
    __asm__ volatile("vfmadd231ps %%zmm30, %%zmm31, %%zmm0\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm1\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm2\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm3\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm4\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm5\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm6\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm7\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm8\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm9\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm10\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm11\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm12\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm13\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm14\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm15\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm16\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm17\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm18\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm19\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm20\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm21\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm22\n" "vfmadd231ps %%zmm30, %%zmm31, %%zmm23\n" ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23");
  }
  __asm__ volatile("vzeroupper" ::: "memory");
  return double(iters) * 24 * 32;
}

}  // namespace triage::bench
