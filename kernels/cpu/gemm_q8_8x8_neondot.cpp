// q8 GEMM, NEON + dot product (ARMv8.2 SDOT; called only where neon_dotprod(), HWCAP_ASIMDDP), 8x8
// tile, exact int32 accumulation. This file alone is compiled with -march=armv8.2-a+dotprod.
// Weights packed as s8 k-quads [n/8][k4/4][8][4]: one 16-byte load is one k-quad of 4 columns, and
// SDOT (by element) adds, per column, the dot product of its quad with one 4-byte quad of an x row
// (16 bytes of x = 4 quads per load). Signed x signed, no offset, no correction: the int32 results
// equal the scalar reference and the ARMv8.0 kernel (gemm_q8_4x8_neon.cpp) exactly.
// 16 accumulators + 8 x vectors + the weight vectors fit the 32 NEON registers.
#include <cstring>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_neon.h"

namespace triage::kernels::detail {
namespace {

constexpr int kMR = 8, kNR = 8;
constexpr int kMC = 96;

template <int MR>
static void tile(const int8_t* panel, int k, const int8_t* x, int64_t ldx, const float* xs,
                 const float* ws, const GemmOut& o, float* y, int j, int nv) {
  int32x4_t acc[MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = vdupq_n_s32(0);
  const int kq = k & ~3;
  int kk = 0;
  for (; kk + 16 <= kq; kk += 16) {  // 4 quads: one 16-byte load of x per row
    const int8_t* wq = panel + size_t(kk) * kNR;
    const int8x16_t w0 = vld1q_s8(wq), w1 = vld1q_s8(wq + 16), w2 = vld1q_s8(wq + 32), w3 = vld1q_s8(wq + 48);
    const int8x16_t w4 = vld1q_s8(wq + 64), w5 = vld1q_s8(wq + 80), w6 = vld1q_s8(wq + 96), w7 = vld1q_s8(wq + 112);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const int8x16_t xv = vld1q_s8(x + i * ldx + kk);
      acc[i][0] = vdotq_laneq_s32(acc[i][0], w0, xv, 0);
      acc[i][1] = vdotq_laneq_s32(acc[i][1], w1, xv, 0);
      acc[i][0] = vdotq_laneq_s32(acc[i][0], w2, xv, 1);
      acc[i][1] = vdotq_laneq_s32(acc[i][1], w3, xv, 1);
      acc[i][0] = vdotq_laneq_s32(acc[i][0], w4, xv, 2);
      acc[i][1] = vdotq_laneq_s32(acc[i][1], w5, xv, 2);
      acc[i][0] = vdotq_laneq_s32(acc[i][0], w6, xv, 3);
      acc[i][1] = vdotq_laneq_s32(acc[i][1], w7, xv, 3);
    }
  }
  for (; kk < kq; kk += 4) {  // remaining whole quads
    const int8_t* wq = panel + size_t(kk) * kNR;
    const int8x16_t w0 = vld1q_s8(wq), w1 = vld1q_s8(wq + 16);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const int8x16_t xv = dup_quad(x + i * ldx + kk);
      acc[i][0] = vdotq_s32(acc[i][0], w0, xv);
      acc[i][1] = vdotq_s32(acc[i][1], w1, xv);
    }
  }
  if (kq < k) {  // K tail: zero-padded quad (the packed weights are zero there too)
    const int8_t* wq = panel + size_t(kq) * kNR;
    const int8x16_t w0 = vld1q_s8(wq), w1 = vld1q_s8(wq + 16);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const int8x16_t xv = dup_quad_tail(x + i * ldx + kq, k - kq);
      acc[i][0] = vdotq_s32(acc[i][0], w0, xv);
      acc[i][1] = vdotq_s32(acc[i][1], w1, xv);
    }
  }
  const EpiNeon e{o.bias, o.gelu, o.accumulate};
  const float32x4_t ws0 = vld1q_f32(ws + j), ws1 = vld1q_f32(ws + j + 4);  // ws padded to np
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float* yp = y + i * o.ldy + j;
    const float32x4_t xsv = vdupq_n_f32(xs[i]);
    epilogue_store_neon(vmulq_f32(vcvtq_f32_s32(acc[i][0]), vmulq_f32(xsv, ws0)), e, j, yp, nv);
    if (nv > 4) epilogue_store_neon(vmulq_f32(vcvtq_f32_s32(acc[i][1]), vmulq_f32(xsv, ws1)), e, j + 4, yp + 4, nv - 4);
  }
}

}  // namespace

void gemm_q8_8x8_neondot(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                         const float* x_scale, const GemmOut& o, int rows, int n0, int n1) {
  const int8_t* w = reinterpret_cast<const int8_t*>(wp);
  const float* ws = reinterpret_cast<const float*>(wp + align64(gemm_q8_weight_bytes(Isa::Neon, n, k)));
  const size_t panel_bytes = size_t(round_up(k, 4)) * kNR;
  for (int mc = 0; mc < rows; mc += kMC) {
    const int mce = rows - mc < kMC ? rows : mc + kMC;
    for (int j = n0; j < n1; j += kNR) {
      const int8_t* panel = w + size_t(j / kNR) * panel_bytes;
      const int nv = n1 - j < kNR ? n1 - j : kNR;
      for (int r = mc; r < mce; r += kMR) {
        const int8_t* xr = x + r * ldx;
        float* yr = o.y + r * o.ldy;
        switch (mce - r < kMR ? mce - r : kMR) {
          case 8: tile<8>(panel, k, xr, ldx, x_scale + r, ws, o, yr, j, nv); break;
          case 7: tile<7>(panel, k, xr, ldx, x_scale + r, ws, o, yr, j, nv); break;
          case 6: tile<6>(panel, k, xr, ldx, x_scale + r, ws, o, yr, j, nv); break;
          case 5: tile<5>(panel, k, xr, ldx, x_scale + r, ws, o, yr, j, nv); break;
          case 4: tile<4>(panel, k, xr, ldx, x_scale + r, ws, o, yr, j, nv); break;
          case 3: tile<3>(panel, k, xr, ldx, x_scale + r, ws, o, yr, j, nv); break;
          case 2: tile<2>(panel, k, xr, ldx, x_scale + r, ws, o, yr, j, nv); break;
          default: tile<1>(panel, k, xr, ldx, x_scale + r, ws, o, yr, j, nv); break;
        }
      }
    }
  }
}

}  // namespace triage::kernels::detail
