// f32 GEMM, AVX2 + FMA, 6x16 register tile (12 ymm accumulators: enough independent FMA chains to
// cover 2 FMA ports x 4-5 cycles latency; 2 weight vectors + 1 broadcast keep it within 16 ymm).
// Weights packed [n/16][k][16]. Each output element is one FMA chain over k in order, whatever the
// tile it lands in: results do not depend on the row/column split.
#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

constexpr int kMR = 6, kNR = 16;
constexpr int kMC = 72;  // rows per chunk: 72 x K floats of x stay in L2 while panels stream

static inline __m256 epilogue(__m256 v, const GemmOut& o, int j, float* yp, bool full, __m256i mask) {
  if (o.bias) v = _mm256_add_ps(v, full ? _mm256_loadu_ps(o.bias + j) : _mm256_maskload_ps(o.bias + j, mask));
  if (o.gelu) v = gelu_avx2(v);
  if (o.accumulate) v = _mm256_add_ps(full ? _mm256_loadu_ps(yp) : _mm256_maskload_ps(yp, mask), v);
  return v;
}

template <int MR>
static void tile(const float* panel, int k, const float* x, int64_t ldx, const GemmOut& o, float* y,
                 int j, int nv) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int kk = 0; kk < k; ++kk) {
    const __m256 w0 = _mm256_load_ps(panel + kk * kNR);
    const __m256 w1 = _mm256_load_ps(panel + kk * kNR + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 b = _mm256_broadcast_ss(x + i * ldx + kk);
      acc[i][0] = _mm256_fmadd_ps(b, w0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(b, w1, acc[i][1]);
    }
  }
  const bool full0 = nv >= 8, full1 = nv >= 16;
  const __m256i m0 = mask_first_avx2(nv), m1 = mask_first_avx2(nv - 8);
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    float* yp = y + i * o.ldy + j;
    const __m256 v0 = epilogue(acc[i][0], o, j, yp, full0, m0);
    if (full0) _mm256_storeu_ps(yp, v0); else _mm256_maskstore_ps(yp, m0, v0);
    if (nv > 8) {
      const __m256 v1 = epilogue(acc[i][1], o, j + 8, yp + 8, full1, m1);
      if (full1) _mm256_storeu_ps(yp + 8, v1); else _mm256_maskstore_ps(yp + 8, m1, v1);
    }
  }
}

}  // namespace

void gemm_f32_6x16_avx2(const float* wp, int n, int k, const float* x, int64_t ldx, const GemmOut& o,
                        int rows, int n0, int n1) {
  for (int mc = 0; mc < rows; mc += kMC) {
    const int mce = rows - mc < kMC ? rows : mc + kMC;
    for (int j = n0; j < n1; j += kNR) {
      const float* panel = wp + size_t(j / kNR) * k * kNR;
      const int nv = n1 - j < kNR ? n1 - j : kNR;
      for (int r = mc; r < mce; r += kMR) {
        const float* xr = x + r * ldx;
        switch (mce - r < kMR ? mce - r : kMR) {
          case 6: tile<6>(panel, k, xr, ldx, o, o.y + r * o.ldy, j, nv); break;
          case 5: tile<5>(panel, k, xr, ldx, o, o.y + r * o.ldy, j, nv); break;
          case 4: tile<4>(panel, k, xr, ldx, o, o.y + r * o.ldy, j, nv); break;
          case 3: tile<3>(panel, k, xr, ldx, o, o.y + r * o.ldy, j, nv); break;
          case 2: tile<2>(panel, k, xr, ldx, o, o.y + r * o.ldy, j, nv); break;
          default: tile<1>(panel, k, xr, ldx, o, o.y + r * o.ldy, j, nv); break;
        }
      }
    }
  }
}

}  // namespace triage::kernels::detail
