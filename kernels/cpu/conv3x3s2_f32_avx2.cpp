// 3x3 stride-2 pad-1 convolution, NHWC, AVX2 + FMA: vectorised over output channels (weights
// [3][3][cin][cout8]). Output channels go in chunks of 3 vectors (24) where possible, and 4
// neighbouring interior output pixels share each weight load (12 accumulators + 3 weights + 1
// broadcast = 16 ymm); a 4-vector chunk takes 2 pixels. The left border pixel (ox = 0, whose kx = 0
// taps fall in the padding) runs in a group with its interior neighbours, skipping those taps; the
// interior pixels left over after the groups run as one smaller group (1-3 pixels): a lone pixel
// has only CV accumulator chains, too few to hide the FMA latency (measured: the tails made the
// 112-px stem run at ~70% of the FMA peak). Other border pixels (the right one when w is odd)
// take the 1-pixel path with per-tap bounds checks (zero padding).
// Per output element: bias, then taps in (ky, kx, ci) order: the scalar reference's order.
#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

template <int CV, int PX, bool LEFT = false>
static void pixels(const float* in, int h, int w, int cin, int64_t ld, const float* wp, int cp, int co0,
                   const float* bias, int cout, bool relu, float* out, int oy, int ox) {
  const int nvalid = cout - co0;  // channels left from co0
  __m256 acc[PX][CV];
#pragma GCC unroll 4
  for (int c = 0; c < CV; ++c) {
    const int left = nvalid - 8 * c;
    __m256 b = _mm256_setzero_ps();
    if (bias) b = left >= 8 ? _mm256_loadu_ps(bias + co0 + 8 * c) : _mm256_maskload_ps(bias + co0 + 8 * c, mask_first_avx2(left));
#pragma GCC unroll 4
    for (int p = 0; p < PX; ++p) acc[p][c] = b;
  }
  for (int ky = 0; ky < 3; ++ky) {
    const int iy = 2 * oy - 1 + ky;
    if (iy < 0 || iy >= h) continue;
    for (int kx = 0; kx < 3; ++kx) {
      const int ix = 2 * ox - 1 + kx;
      if (PX == 1 && !LEFT && (ix < 0 || ix >= w)) continue;  // groups: every tap inside, but LEFT's
      const int64_t src0 = iy * ld + int64_t(ix) * cin;          // pixel 0 at kx = 0 (skipped below)
      const float* wt = wp + size_t(ky * 3 + kx) * cin * cp + co0;
      for (int ci = 0; ci < cin; ++ci) {
        __m256 wv[CV];
#pragma GCC unroll 4
        for (int c = 0; c < CV; ++c) wv[c] = _mm256_loadu_ps(wt + size_t(ci) * cp + 8 * c);
#pragma GCC unroll 4
        for (int p = 0; p < PX; ++p) {
          if (LEFT && p == 0 && kx == 0) continue;
          const __m256 x = _mm256_broadcast_ss(in + src0 + 2 * p * cin + ci);
#pragma GCC unroll 4
          for (int c = 0; c < CV; ++c) acc[p][c] = _mm256_fmadd_ps(x, wv[c], acc[p][c]);
        }
      }
    }
  }
  const int wo = (w + 1) / 2;
#pragma GCC unroll 4
  for (int p = 0; p < PX; ++p) {
    float* o = out + (size_t(oy) * wo + ox + p) * cout + co0;
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) {
      __m256 v = acc[p][c];
      if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
      const int left = nvalid - 8 * c;
      if (left >= 8) _mm256_storeu_ps(o + 8 * c, v); else _mm256_maskstore_ps(o + 8 * c, mask_first_avx2(left), v);
    }
  }
}

template <int CV, int PX>
static void row_chunk(const float* in, int h, int w, int cin, int64_t ld, const float* wp, int cp, int co0,
                      const float* bias, int cout, bool relu, float* out, int oy) {
  const int wo = (w + 1) / 2;
  const int ox_in_hi = (w - 2) / 2;  // last ox whose 3 taps are inside: 2*ox + 1 <= w - 1
  int ox = 0;
  if (PX > 1 && PX - 1 <= ox_in_hi) {  // ox = 0 with its neighbours 1 .. PX-1, all interior
    pixels<CV, PX, true>(in, h, w, cin, ld, wp, cp, co0, bias, cout, relu, out, oy, 0);
    ox = PX;
  }
  for (; ox >= 1 && ox + PX - 1 <= ox_in_hi; ox += PX)
    pixels<CV, PX>(in, h, w, cin, ld, wp, cp, co0, bias, cout, relu, out, oy, ox);
  const int rem = ox >= 1 ? ox_in_hi - ox + 1 : 0;  // interior pixels left (fewer than PX)
  if constexpr (PX > 3)
    if (rem == 3) pixels<CV, 3>(in, h, w, cin, ld, wp, cp, co0, bias, cout, relu, out, oy, ox);
  if constexpr (PX > 2)
    if (rem == 2) pixels<CV, 2>(in, h, w, cin, ld, wp, cp, co0, bias, cout, relu, out, oy, ox);
  if (rem >= 2) ox += rem;
  for (; ox < wo; ++ox) pixels<CV, 1>(in, h, w, cin, ld, wp, cp, co0, bias, cout, relu, out, oy, ox);
}

}  // namespace

void conv3x3s2_f32_avx2(const float* in, int h, int w, int cin, int64_t ld_in, const float* wp,
                        const float* bias, int cout, bool relu, float* out, int oy0, int oy1) {
  const int cp = round_up(cout, 8);
  for (int oy = oy0; oy < oy1; ++oy)
    for (int co0 = 0; co0 < cp;) {
      const int left = (cp - co0) / 8;  // vectors left
      const int cv = left == 4 ? 4 : left >= 3 ? 3 : left;
      switch (cv) {
        case 4: row_chunk<4, 2>(in, h, w, cin, ld_in, wp, cp, co0, bias, cout, relu, out, oy); break;
        case 3: row_chunk<3, 4>(in, h, w, cin, ld_in, wp, cp, co0, bias, cout, relu, out, oy); break;
        case 2: row_chunk<2, 4>(in, h, w, cin, ld_in, wp, cp, co0, bias, cout, relu, out, oy); break;
        default: row_chunk<1, 4>(in, h, w, cin, ld_in, wp, cp, co0, bias, cout, relu, out, oy); break;
      }
      co0 += 8 * cv;
    }
}

}  // namespace triage::kernels::detail
