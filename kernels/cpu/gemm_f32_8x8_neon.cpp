// f32 GEMM, NEON, 8x8 register tile (16 accumulators + 8 weight vectors + the x vectors within the 32
// NEON registers). Weights packed [n/8][k][8]. x is read 4 k at a time and FMLA by element consumes
// it; the k tail uses FMLA by scalar: every output element is one FMA chain over k in order, whatever
// the tile or k position it lands in, so results do not depend on the row/column split. FMA vs the
// scalar reference's mul+add: the difference the kernels.h contract allows (as for AVX2).
#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_neon.h"

namespace triage::kernels::detail {
namespace {

constexpr int kMR = 8, kNR = 8;
constexpr int kMC = 72;

template <int MR>
static void tile(const float* panel, int k, const float* x, int64_t ldx, const GemmOut& o, float* y,
                 int j, int nv) {
  float32x4_t acc[MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = vdupq_n_f32(0.f);
  int kk = 0;
  for (; kk + 4 <= k; kk += 4) {
    const float* wk = panel + kk * kNR;
    const float32x4_t w00 = vld1q_f32(wk), w01 = vld1q_f32(wk + 4);
    const float32x4_t w10 = vld1q_f32(wk + 8), w11 = vld1q_f32(wk + 12);
    const float32x4_t w20 = vld1q_f32(wk + 16), w21 = vld1q_f32(wk + 20);
    const float32x4_t w30 = vld1q_f32(wk + 24), w31 = vld1q_f32(wk + 28);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const float32x4_t xv = vld1q_f32(x + i * ldx + kk);
      acc[i][0] = vfmaq_laneq_f32(acc[i][0], w00, xv, 0);
      acc[i][1] = vfmaq_laneq_f32(acc[i][1], w01, xv, 0);
      acc[i][0] = vfmaq_laneq_f32(acc[i][0], w10, xv, 1);
      acc[i][1] = vfmaq_laneq_f32(acc[i][1], w11, xv, 1);
      acc[i][0] = vfmaq_laneq_f32(acc[i][0], w20, xv, 2);
      acc[i][1] = vfmaq_laneq_f32(acc[i][1], w21, xv, 2);
      acc[i][0] = vfmaq_laneq_f32(acc[i][0], w30, xv, 3);
      acc[i][1] = vfmaq_laneq_f32(acc[i][1], w31, xv, 3);
    }
  }
  for (; kk < k; ++kk) {
    const float32x4_t w0 = vld1q_f32(panel + kk * kNR), w1 = vld1q_f32(panel + kk * kNR + 4);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const float xv = x[i * ldx + kk];
      acc[i][0] = vfmaq_n_f32(acc[i][0], w0, xv);
      acc[i][1] = vfmaq_n_f32(acc[i][1], w1, xv);
    }
  }
  const EpiNeon e{o.bias, o.gelu, o.accumulate};
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float* yp = y + i * o.ldy + j;
    epilogue_store_neon(acc[i][0], e, j, yp, nv);
    if (nv > 4) epilogue_store_neon(acc[i][1], e, j + 4, yp + 4, nv - 4);
  }
}

}  // namespace

void gemm_f32_8x8_neon(const float* wp, int n, int k, const float* x, int64_t ldx, const GemmOut& o,
                       int rows, int n0, int n1) {
  (void)n;
  for (int mc = 0; mc < rows; mc += kMC) {
    const int mce = rows - mc < kMC ? rows : mc + kMC;
    for (int j = n0; j < n1; j += kNR) {
      const float* panel = wp + size_t(j / kNR) * k * kNR;
      const int nv = n1 - j < kNR ? n1 - j : kNR;
      for (int r = mc; r < mce; r += kMR) {
        const float* xr = x + r * ldx;
        float* yr = o.y + r * o.ldy;
        switch (mce - r < kMR ? mce - r : kMR) {
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
