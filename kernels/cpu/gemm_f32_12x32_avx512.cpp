// f32 GEMM, AVX-512, 12x32 register tile (24 zmm accumulators: covers 2 FMA ports x 4 cycles with
// margin; 2 weight vectors + 1 broadcast -> 27 of 32 zmm). Weights packed [n/32][k][32]. Same
// structure as gemm_f32_6x16_avx2.cpp: one FMA chain per output element over k in order, so the
// row/column split never changes a result.
#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx512.h"

namespace triage::kernels::detail {
namespace {

constexpr int kMR = 12, kNR = 32;
constexpr int kMC = 72;

template <int MR>
static void tile(const float* panel, int k, const float* x, int64_t ldx, const GemmOut& o, float* y,
                 int j, int nv) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int kk = 0; kk < k; ++kk) {
    const __m512 w0 = _mm512_load_ps(panel + kk * kNR);
    const __m512 w1 = _mm512_load_ps(panel + kk * kNR + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512 b = _mm512_set1_ps(x[i * ldx + kk]);
      acc[i][0] = _mm512_fmadd_ps(b, w0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(b, w1, acc[i][1]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    float* yr = y + i * o.ldy;
    store16(acc[i][0], o, j, yr, nv);
    if (nv > 16) store16(acc[i][1], o, j + 16, yr, nv - 16);
  }
}

}  // namespace

void gemm_f32_12x32_avx512(const float* wp, int n, int k, const float* x, int64_t ldx,
                           const GemmOut& o, int rows, int n0, int n1) {
  for (int mc = 0; mc < rows; mc += kMC) {
    const int mce = rows - mc < kMC ? rows : mc + kMC;
    for (int j = n0; j < n1; j += kNR) {
      const float* panel = wp + size_t(j / kNR) * k * kNR;
      const int nv = n1 - j < kNR ? n1 - j : kNR;
      for (int r = mc; r < mce; r += kMR) {
        const float* xr = x + r * ldx;
        float* yr = o.y + r * o.ldy;
        switch (mce - r < kMR ? mce - r : kMR) {
          case 12: tile<12>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 11: tile<11>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 10: tile<10>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 9: tile<9>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 8: tile<8>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 7: tile<7>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 6: tile<6>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 5: tile<5>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 4: tile<4>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 3: tile<3>(panel, k, xr, ldx, o, yr, j, nv); break;
          case 2: tile<2>(panel, k, xr, ldx, o, yr, j, nv); break;
          default: tile<1>(panel, k, xr, ldx, o, yr, j, nv); break;
        }
      }
    }
  }
}

}  // namespace triage::kernels::detail
