// q8 GEMM, AVX-512 VNNI, 12x32 tile (24 zmm int32 accumulators), vpdpbusd.
// vpdpbusd multiplies u8 x s8. The weights are the u8 side: packed once as w + 128 (in [1, 255])
// in k-quads [n/32][k4/4][32][4]; x stays s8 and is the broadcast operand, so no per-broadcast
// xor is needed. sum_k (w + 128) x = sum_k w x + 128 rowsum(x): the exact int32 correction
// subtracts 128 * rowsum(x), computed once per row chunk. vpdpbusd (not the saturating
// vpdpbusds) adds 4 products of at most 255*127 each into int32: exact.
#include <cstring>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx512.h"

namespace triage::kernels::detail {
namespace {

constexpr int kMR = 12, kNR = 32;
constexpr int kMC = 96;

static inline int32_t load_quad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The last n < 4 bytes of a row, zero-padded, as a quad. A byte loop, not a memcpy call: a call
// would force the accumulator arrays into memory for the whole tile.
static inline int32_t load_quad_tail(const int8_t* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint32_t(uint8_t(p[i])) << (8 * i);
  return int32_t(v);
}

template <int MR>
static void tile(const uint8_t* panel, int k, const int8_t* x, int64_t ldx, const float* xs,
                 const int32_t* rsum, const float* ws, const GemmOut& o, float* y, int j, int nv) {
  __m512i acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
  const int kq = k & ~3;
  for (int kk = 0; kk < kq; kk += 4) {
    const __m512i w0 = _mm512_load_si512(panel + size_t(kk) * kNR);
    const __m512i w1 = _mm512_load_si512(panel + size_t(kk) * kNR + 64);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512i b = _mm512_set1_epi32(load_quad(x + i * ldx + kk));
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], w0, b);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], w1, b);
      TRIAGE_PIN_ZMM2(acc[i][0], acc[i][1]);  // one zmm each (see simd_avx512.h)
    }
  }
  if (kq < k) {  // K tail: zero-padded quad (padded weights are 128, times x = 0)
    const __m512i w0 = _mm512_load_si512(panel + size_t(kq) * kNR);
    const __m512i w1 = _mm512_load_si512(panel + size_t(kq) * kNR + 64);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512i b = _mm512_set1_epi32(load_quad_tail(x + i * ldx + kq, k - kq));
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], w0, b);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], w1, b);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    const __m512i corr = _mm512_set1_epi32(128 * rsum[i]);
    float* yr = y + i * o.ldy;
    store16(dequant16(_mm512_sub_epi32(acc[i][0], corr), xs[i], ws, j), o, j, yr, nv);
    if (nv > 16) store16(dequant16(_mm512_sub_epi32(acc[i][1], corr), xs[i], ws, j + 16), o, j + 16, yr, nv - 16);
  }
}

static int32_t row_sum(const int8_t* x, int k) {
  __m512i s = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi8(1);
  int kk = 0;
  for (; kk + 64 <= k; kk += 64) s = _mm512_dpbusd_epi32(s, ones, _mm512_loadu_si512(x + kk));
  int32_t r = _mm512_reduce_add_epi32(s);
  for (; kk < k; ++kk) r += x[kk];
  return r;
}

}  // namespace

void gemm_q8_12x32_avx512vnni(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                              const float* x_scale, const GemmOut& o, int rows, int n0, int n1) {
  const float* ws = reinterpret_cast<const float*>(wp + align64(gemm_q8_weight_bytes(Isa::Avx512Vnni, n, k)));
  const size_t panel_bytes = size_t(round_up(k, 4)) * kNR;
  int32_t rsum[kMC];
  for (int mc = 0; mc < rows; mc += kMC) {
    const int mce = rows - mc < kMC ? rows : mc + kMC;
    for (int r = mc; r < mce; ++r) rsum[r - mc] = row_sum(x + r * ldx, k);
    for (int j = n0; j < n1; j += kNR) {
      const uint8_t* panel = wp + size_t(j / kNR) * panel_bytes;
      const int nv = n1 - j < kNR ? n1 - j : kNR;
      for (int r = mc; r < mce; r += kMR) {
        const int8_t* xr = x + r * ldx;
        float* yr = o.y + r * o.ldy;
        const int32_t* rs = rsum + (r - mc);
        const float* xs = x_scale + r;
        switch (mce - r < kMR ? mce - r : kMR) {
          case 12: tile<12>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 11: tile<11>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 10: tile<10>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 9: tile<9>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 8: tile<8>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 7: tile<7>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 6: tile<6>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 5: tile<5>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 4: tile<4>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 3: tile<3>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          case 2: tile<2>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
          default: tile<1>(panel, k, xr, ldx, xs, rs, ws, o, yr, j, nv); break;
        }
      }
    }
  }
}

}  // namespace triage::kernels::detail
