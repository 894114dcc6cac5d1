// q8 GEMM, AVX2, 4x16 tile, exact int32 accumulation.
// vpmaddubsw would saturate int16 for u8*s8 pairs (255*127*2 > 32767), so both operands are
// sign-extended to int16 and multiplied with vpmaddwd (two s16*s16 products summed into s32:
// |sum| <= 2*127*127, exact). Weights are sign-extended once at pack time ([n/16][k8/2][16][2]);
// x is widened 8 bytes at a time and each k-pair broadcast with vpshufd.
// Epilogue: (float)acc * (x_scale * w_scale) + bias ..., the same float ops as the scalar reference.
#include <cstring>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

constexpr int kMR = 4, kNR = 16;
constexpr int kMC = 96;

template <int P>
static inline __m256i pair(__m256i xb) {
  return _mm256_shuffle_epi32(xb, P * 0x55);
}

template <int MR, int P>
static inline void step(const int16_t* wk, const __m256i* xb, __m256i (*acc)[2]) {
  const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wk + P * 32));
  const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wk + P * 32 + 16));
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    const __m256i b = pair<P>(xb[i]);
    acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(b, w0));
    acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(b, w1));
    // Integer adds are associative, and GCC regroups the 4 k-pair products per chunk into trees
    // that need 40+ live ymm (spilling). Pin each accumulator in a register after its add.
    __asm__("" : "+x"(acc[i][0]), "+x"(acc[i][1]));
  }
}

static inline __m256 epilogue(__m256i acc, float xs, const float* ws, const GemmOut& o, int j, float* yp,
                              bool full, __m256i mask) {
  const __m256 sc = _mm256_mul_ps(_mm256_set1_ps(xs), _mm256_loadu_ps(ws + j));  // ws padded to np
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), sc);
  if (o.bias) v = _mm256_add_ps(v, full ? _mm256_loadu_ps(o.bias + j) : _mm256_maskload_ps(o.bias + j, mask));
  if (o.gelu) v = gelu_avx2(v);
  if (o.accumulate) v = _mm256_add_ps(full ? _mm256_loadu_ps(yp) : _mm256_maskload_ps(yp, mask), v);
  return v;
}

template <int MR>
static void tile(const int16_t* panel, int k, const int8_t* x, int64_t ldx, const float* xs,
                 const float* ws, const GemmOut& o, float* y, int j, int nv) {
  __m256i acc[MR][2];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  const int kfull = k & ~7;
  for (int kk = 0; kk < kfull; kk += 8) {
    __m256i xb[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + i * ldx + kk));
      xb[i] = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(v));
    }
    const int16_t* wk = panel + size_t(kk) * kNR;  // kk/2 pairs x 32 int16
    step<MR, 0>(wk, xb, acc);
    step<MR, 1>(wk, xb, acc);
    step<MR, 2>(wk, xb, acc);
    step<MR, 3>(wk, xb, acc);
  }
  if (kfull < k) {  // K tail: zero-padded copy of the last < 8 bytes (weights are zero there too)
    __m256i xb[MR];
    for (int i = 0; i < MR; ++i) {
      int8_t t[8] = {};
      std::memcpy(t, x + i * ldx + kfull, size_t(k - kfull));
      const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(t));
      xb[i] = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(v));
    }
    const int16_t* wk = panel + size_t(kfull) * kNR;
    step<MR, 0>(wk, xb, acc);
    step<MR, 1>(wk, xb, acc);
    step<MR, 2>(wk, xb, acc);
    step<MR, 3>(wk, xb, acc);
  }
  const bool full0 = nv >= 8, full1 = nv >= 16;
  const __m256i m0 = mask_first_avx2(nv), m1 = mask_first_avx2(nv - 8);
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    float* yp = y + i * o.ldy + j;
    const __m256 v0 = epilogue(acc[i][0], xs[i], ws, o, j, yp, full0, m0);
    if (full0) _mm256_storeu_ps(yp, v0); else _mm256_maskstore_ps(yp, m0, v0);
    if (nv > 8) {
      const __m256 v1 = epilogue(acc[i][1], xs[i], ws, o, j + 8, yp + 8, full1, m1);
      if (full1) _mm256_storeu_ps(yp + 8, v1); else _mm256_maskstore_ps(yp + 8, m1, v1);
    }
  }
}

}  // namespace

void gemm_q8_4x16_avx2(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                       const float* x_scale, const GemmOut& o, int rows, int n0, int n1) {
  const int16_t* w = reinterpret_cast<const int16_t*>(wp);
  const float* ws = reinterpret_cast<const float*>(wp + align64(gemm_q8_weight_bytes(Isa::Avx2, n, k)));
  const size_t panel_elems = size_t(round_up(k, 8)) * kNR;
  for (int mc = 0; mc < rows; mc += kMC) {
    const int mce = rows - mc < kMC ? rows : mc + kMC;
    for (int j = n0; j < n1; j += kNR) {
      const int16_t* panel = w + size_t(j / kNR) * panel_elems;
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
