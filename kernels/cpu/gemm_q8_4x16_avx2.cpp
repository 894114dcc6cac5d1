// q8 GEMM, AVX2, 4x16 tile, exact int32 accumulation.
// vpmaddubsw multiplies u8 x s8 byte pairs into saturating int16. It is made exact by moving the
// sign: |w| (u8, <= 128 even for w = -128) times sign(w) * x (s8; |x| <= 127 from the per-token
// quantiser, so the flip cannot overflow): each pair sum is <= 2 * 128 * 127 = 32512 < 32767.
// vpmaddwd with ones widens the pairs to int32 (4 products per lane), vpaddd accumulates.
// Weights packed as s8 k-quads [n/16][k4/4][16][4]; x k-quads are broadcast as 32-bit.
// Epilogue: (float)acc * (x_scale * w_scale) + bias ..., the same float ops as the scalar reference.
#include <cstring>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

constexpr int kMR = 4, kNR = 16;
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
static inline void quad(const int8_t* wq, const int32_t* xq, __m256i (*acc)[2]) {
  const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wq));
  const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wq + 32));
  const __m256i a0 = _mm256_abs_epi8(w0), a1 = _mm256_abs_epi8(w1);
  const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    const __m256i xb = _mm256_set1_epi32(xq[i]);
    const __m256i p0 = _mm256_maddubs_epi16(a0, _mm256_sign_epi8(xb, w0));
    const __m256i p1 = _mm256_maddubs_epi16(a1, _mm256_sign_epi8(xb, w1));
    acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(p0, ones));
    acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(p1, ones));
    // Integer adds are associative: without this GCC regroups the chains and spills.
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
static void tile(const int8_t* panel, int k, const int8_t* x, int64_t ldx, const float* xs,
                 const float* ws, const GemmOut& o, float* y, int j, int nv) {
  __m256i acc[MR][2];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  const int kq = k & ~3;
  for (int kk = 0; kk < kq; kk += 4) {
    int32_t xq[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) xq[i] = load_quad(x + i * ldx + kk);
    quad<MR>(panel + size_t(kk) * kNR, xq, acc);
  }
  if (kq < k) {  // K tail: zero-padded quad (the packed weights are zero there too)
    int32_t xq[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) xq[i] = load_quad_tail(x + i * ldx + kq, k - kq);
    quad<MR>(panel + size_t(kq) * kNR, xq, acc);
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
  const int8_t* w = reinterpret_cast<const int8_t*>(wp);
  const float* ws = reinterpret_cast<const float*>(wp + align64(gemm_q8_weight_bytes(Isa::Avx2, n, k)));
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
