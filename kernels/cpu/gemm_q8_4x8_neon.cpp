// q8 GEMM, ARMv8.0 NEON (any aarch64 CPU), 4x8 tile, exact int32 accumulation.
// Weights packed as s8 k-quads [n/8][k4/4][8][4] (the SDOT layout, gemm_q8_8x8_neondot.cpp); the x quad
// of a row is replicated over the 4 column slots of a vector. SMULL multiplies 8 byte pairs into int16
// (one k-quad of two columns), SMLAL adds the next k-quad's products: |x| <= 127 (the per-token
// quantiser) and |w| <= 128 give |x w| <= 16256, two of them <= 32512 < 32767, so the int16 lanes are
// exact; SADALP widens pairs into the int32 accumulators. The four partial sums of a column are
// added at the end (ADDP). Integer addition is exact: the result equals the scalar reference.
// Epilogue: (float)acc * (x_scale * w_scale) + bias ..., the same float ops as the scalar reference.
#include <cstring>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_neon.h"

namespace triage::kernels::detail {
namespace {

constexpr int kMR = 4, kNR = 8;
constexpr int kMC = 96;

// Two k-quads (a, b) of the panel's 8 columns against x quads xa, xb of MR rows.
template <int MR>
static inline void two_quads(const int8_t* wq, const int8x16_t* xa, const int8x16_t* xb, int32x4_t (*acc)[4]) {
  const int8x16_t a0 = vld1q_s8(wq), a1 = vld1q_s8(wq + 16);       // quad a: cols 0-3, 4-7
  const int8x16_t b0 = vld1q_s8(wq + 32), b1 = vld1q_s8(wq + 48);  // quad b
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    int16x8_t p0 = vmull_s8(vget_low_s8(a0), vget_low_s8(xa[i]));
    int16x8_t p1 = vmull_high_s8(a0, xa[i]);
    int16x8_t p2 = vmull_s8(vget_low_s8(a1), vget_low_s8(xa[i]));
    int16x8_t p3 = vmull_high_s8(a1, xa[i]);
    p0 = vmlal_s8(p0, vget_low_s8(b0), vget_low_s8(xb[i]));
    p1 = vmlal_high_s8(p1, b0, xb[i]);
    p2 = vmlal_s8(p2, vget_low_s8(b1), vget_low_s8(xb[i]));
    p3 = vmlal_high_s8(p3, b1, xb[i]);
    acc[i][0] = vpadalq_s16(acc[i][0], p0);
    acc[i][1] = vpadalq_s16(acc[i][1], p1);
    acc[i][2] = vpadalq_s16(acc[i][2], p2);
    acc[i][3] = vpadalq_s16(acc[i][3], p3);
  }
}

template <int MR>
static inline void one_quad(const int8_t* wq, const int8x16_t* xa, int32x4_t (*acc)[4]) {
  const int8x16_t a0 = vld1q_s8(wq), a1 = vld1q_s8(wq + 16);
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    acc[i][0] = vpadalq_s16(acc[i][0], vmull_s8(vget_low_s8(a0), vget_low_s8(xa[i])));
    acc[i][1] = vpadalq_s16(acc[i][1], vmull_high_s8(a0, xa[i]));
    acc[i][2] = vpadalq_s16(acc[i][2], vmull_s8(vget_low_s8(a1), vget_low_s8(xa[i])));
    acc[i][3] = vpadalq_s16(acc[i][3], vmull_high_s8(a1, xa[i]));
  }
}

template <int MR>
static void tile(const int8_t* panel, int k, const int8_t* x, int64_t ldx, const float* xs,
                 const float* ws, const GemmOut& o, float* y, int j, int nv) {
  int32x4_t acc[MR][4];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = vdupq_n_s32(0);
  const int kq = k & ~3;  // whole quads of x
  int kk = 0;
  for (; kk + 8 <= kq; kk += 8) {
    int8x16_t xa[MR], xb[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      xa[i] = dup_quad(x + i * ldx + kk);
      xb[i] = dup_quad(x + i * ldx + kk + 4);
    }
    two_quads<MR>(panel + size_t(kk) * kNR, xa, xb, acc);
  }
  if (kk < kq) {
    int8x16_t xa[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) xa[i] = dup_quad(x + i * ldx + kk);
    one_quad<MR>(panel + size_t(kk) * kNR, xa, acc);
    kk += 4;
  }
  if (kq < k) {  // K tail: zero-padded quad (the packed weights are zero there too)
    int8x16_t xa[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) xa[i] = dup_quad_tail(x + i * ldx + kq, k - kq);
    one_quad<MR>(panel + size_t(kq) * kNR, xa, acc);
  }
  const EpiNeon e{o.bias, o.gelu, o.accumulate};
  const float32x4_t ws0 = vld1q_f32(ws + j), ws1 = vld1q_f32(ws + j + 4);  // ws padded to np
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    float* yp = y + i * o.ldy + j;
    const int32x4_t c0 = vpaddq_s32(acc[i][0], acc[i][1]), c1 = vpaddq_s32(acc[i][2], acc[i][3]);
    const float32x4_t xsv = vdupq_n_f32(xs[i]);
    epilogue_store_neon(vmulq_f32(vcvtq_f32_s32(c0), vmulq_f32(xsv, ws0)), e, j, yp, nv);
    if (nv > 4) epilogue_store_neon(vmulq_f32(vcvtq_f32_s32(c1), vmulq_f32(xsv, ws1)), e, j + 4, yp + 4, nv - 4);
  }
}

}  // namespace

void gemm_q8_4x8_neon(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
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
