// What the AVX2 and AVX-512 attention kernels (attention_f32_avx2.cpp, attention_f32_avx512.cpp) share,
// so the two give the same bits: the softmax pieces (the running max over a score tile, exp and the
// tile's sum in one fixed order, the CLS query's probability row), the tiled transpose of K into key
// blocks, the scaling of a query, the scratch layout, and the loop over query groups and key tiles. 256-bit code (the AVX-512 file is compiled with AVX2 too).
#pragma once

#include <cmath>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

constexpr int kTile = 128;  // keys per online-softmax tile
constexpr int kQB = 4;      // queries sharing each key-block load

// In place p = exp(s - m) over [0, len) (lanes past len computed but ignored); returns sum p over
// [0, len) in a fixed order (8 lanes, then horizontal).
static inline float exp_sum(float* s, int len, float m) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sum = _mm256_setzero_ps();
  int t = 0;
  for (; t + 8 <= len; t += 8) {
    const __m256 p = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + t), mv));
    _mm256_storeu_ps(s + t, p);
    sum = _mm256_add_ps(sum, p);
  }
  if (t < len) {
    const __m256i mask = mask_first_avx2(len - t);
    const __m256 p = _mm256_and_ps(exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + t), mv)), _mm256_castsi256_ps(mask));
    _mm256_storeu_ps(s + t, p);
    sum = _mm256_add_ps(sum, p);
  }
  return hsum_avx2(sum);
}

// max over [0, len); lanes past len (scores of zero-padded keys) are excluded.
static inline float max_of(const float* s, int len) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int t = 0;
  for (; t + 8 <= len; t += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + t));
  if (t < len) {
    const __m256i mk = mask_first_avx2(len - t);  // maskload: s may end at len (cls_probs)
    const __m256 tail = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(s + t, mk),
                                         _mm256_castsi256_ps(mk));
    m = _mm256_max_ps(m, tail);
  }
  return hmax_avx2(m);
}

// The CLS query's scores p[0, n) -> its probabilities, in place (max, exp, sum in key order, scale).
static inline void cls_softmax(float* p, int n) {
  const float m = max_of(p, n);
  float l = 0.f;
  for (int t = 0; t < n; ++t) {
    p[t] = std::exp(p[t] - m);
    l += p[t];
  }
  const float inv = 1.f / l;
  for (int t = 0; t < n; ++t) p[t] *= inv;
}

// 8 x 8 transpose of the rows r[0..8) (8 floats each) into c[0..8): c[j][i] = r[i][j]. Data movement only.
static inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// K of one head (rows t < n of K, row stride ld, hd columns, hd % 8 == 0) into key blocks:
// kt[b][j][k] = K[16 b + k][j] for the n16 = round_up(n, 16) keys, zero for t >= n. 8 x 8 tiles.
static inline void transpose_k(const float* K, int64_t ld, int n, int n16, int hd, float* kt) {
  for (int b0 = 0; b0 < n16; b0 += 16) {
    float* blk = kt + size_t(b0 / 16) * hd * 16;
    for (int j0 = 0; j0 < hd; j0 += 8) {
      __m256 lo[8], hi[8];  // keys b0 .. b0 + 8 and b0 + 8 .. b0 + 16 of columns j0 .. j0 + 8
      for (int i = 0; i < 8; ++i) {
        lo[i] = b0 + i < n ? _mm256_loadu_ps(K + (b0 + i) * ld + j0) : _mm256_setzero_ps();
        hi[i] = b0 + 8 + i < n ? _mm256_loadu_ps(K + (b0 + 8 + i) * ld + j0) : _mm256_setzero_ps();
      }
      transpose8(lo);
      transpose8(hi);
      for (int j = 0; j < 8; ++j) {  // both halves of a 64-byte row of the block, one after the other
        _mm256_store_ps(blk + size_t(j0 + j) * 16, lo[j]);
        _mm256_store_ps(blk + size_t(j0 + j) * 16 + 8, hi[j]);
      }
    }
  }
}

// dst[j] = src[j] * f for j < hd (hd % 8 == 0; dst may be src): the same products as one scalar multiply
// each. Scales a query, rescales a running output, normalises a finished one.
static inline void scale_row(const float* src, float f, int hd, float* dst) {
  const __m256 fv = _mm256_set1_ps(f);
  for (int j = 0; j < hd; j += 8) _mm256_storeu_ps(dst + j, _mm256_mul_ps(_mm256_loadu_ps(src + j), fv));
}

// The online softmax of a group of NQ queries over the key tiles, and the output: common to both
// kernels, which supply their width's pieces in Ops:
//   template <int NQ> static void scores(const float* const* qs, const float* kt, int hd, int t0, int nb16,
//                                        float (*s)[kTile]);   // s[qi][t - t0] = q_qi . k_t
//   template <int NQ> static void pv_group(float* obuf, int hd, const float (*p)[kTile], const float* v,
//                                          int64_t ldv, int len);   // obuf[qi] += sum_t p[qi][t] v_t
template <class Ops, int NQ>
static void query_group(const AttentionArgs& a, int hd, int col, const float* kt, int i0, float* qbuf, float* obuf,
                        float (*s)[kTile]) {
  const int n = a.n_tokens;
  const float* V = a.qkv + 2 * a.dim + col;
  const float* qs[kQB];
  float m[kQB], l[kQB];
  for (int qi = 0; qi < NQ; ++qi) {
    float* qq = qbuf + qi * hd;
    scale_row(a.qkv + (i0 + qi) * a.ld_qkv + col, a.scale, hd, qq);  // fold the scale into q
    qs[qi] = qq;
    m[qi] = -INFINITY;
    l[qi] = 0.f;
    for (int j = 0; j < hd; ++j) obuf[qi * hd + j] = 0.f;
  }
  for (int t0 = 0; t0 < n; t0 += kTile) {
    const int len = n - t0 < kTile ? n - t0 : kTile;
    Ops::template scores<NQ>(qs, kt, hd, t0, (len + 15) / 16, s);
    for (int qi = 0; qi < NQ; ++qi) {
      const float mt = max_of(s[qi], len);
      const float mn = mt > m[qi] ? mt : m[qi];
      const float alpha = std::exp(m[qi] - mn);  // 0 on the first tile (exp(-inf))
      const float ps = exp_sum(s[qi], len, mn);
      if (t0 > 0) scale_row(obuf + qi * hd, alpha, hd, obuf + qi * hd);
      l[qi] = l[qi] * alpha + ps;
      m[qi] = mn;
    }
    Ops::template pv_group<NQ>(obuf, hd, s, V + t0 * a.ld_qkv, a.ld_qkv, len);
  }
  for (int qi = 0; qi < NQ; ++qi) scale_row(obuf + qi * hd, 1.f / l[qi], hd, a.out + (i0 + qi) * a.ld_out + col);
}

// Scratch floats of one call: KT [n16/16][hd][16] (from a 64-byte boundary), scaled q and o for kQB
// queries, and the score tile, placed 2 KB past KT's start modulo 4 KB. The score tile is stored at the
// end of each key block, just before the next block's first KT rows are loaded; at an address equal to
// those modulo 4 KB the loads wait on the stores (4K aliasing), which made these kernels 15-50% slower
// whenever the stack happened to put the tile there (2026-12-07, Zen 4).
static inline size_t attention_scratch_floats_shared(int n_tokens, int hd) {
  return 16 + size_t(hd) * round_up(n_tokens, 16) + 2 * kQB * size_t(hd) + 1024 + size_t(kQB) * kTile;
}
struct AttnScratch {
  float* kt;
  float* qbuf;
  float* obuf;
  float (*s)[kTile];
};
static inline AttnScratch attention_scratch_layout(float* scratch, int n_tokens, int hd) {
  AttnScratch r;
  r.kt = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t(63));
  r.qbuf = r.kt + size_t(hd) * round_up(n_tokens, 16);
  r.obuf = r.qbuf + kQB * hd;
  const uintptr_t kt = reinterpret_cast<uintptr_t>(r.kt), end = reinterpret_cast<uintptr_t>(r.obuf + kQB * hd);
  const uintptr_t want = (kt + 2048) & 4095;                   // the tile's address modulo 4 KB
  const uintptr_t s = end + ((want - (end & 4095)) & 4095);    // the first such address at or after end
  r.s = reinterpret_cast<float (*)[kTile]>(s);
  return r;
}

// The whole kernel call: K of the head into key blocks in scratch, queries [q0, q1), then the CLS
// query's probability row when asked for and q0 == 0.
template <class Ops>
static void attend(const AttentionArgs& a, int head, int q0, int q1, float* scratch) {
  const int n = a.n_tokens, hd = a.dim / a.heads, col = head * hd;
  const AttnScratch sc = attention_scratch_layout(scratch, n, hd);
  float* kt = sc.kt;
  transpose_k(a.qkv + a.dim + col, a.ld_qkv, n, round_up(n, 16), hd, kt);
  float *qbuf = sc.qbuf, *obuf = sc.obuf;
  int i = q0;
  for (; i + kQB <= q1; i += kQB) query_group<Ops, kQB>(a, hd, col, kt, i, qbuf, obuf, sc.s);
  switch (q1 - i) {
    case 3: query_group<Ops, 3>(a, hd, col, kt, i, qbuf, obuf, sc.s); break;
    case 2: query_group<Ops, 2>(a, hd, col, kt, i, qbuf, obuf, sc.s); break;
    case 1: query_group<Ops, 1>(a, hd, col, kt, i, qbuf, obuf, sc.s); break;
    default: break;
  }
  if (a.cls_probs && q0 == 0) {
    // The CLS query's probabilities over all keys: two passes over a row of n (caller memory).
    float* p = a.cls_probs;
    scale_row(a.qkv + col, a.scale, hd, qbuf);
    const float* qs[1] = {qbuf};
    float (*s)[kTile] = sc.s;
    for (int t0 = 0; t0 < n; t0 += kTile) {
      const int len = n - t0 < kTile ? n - t0 : kTile;
      Ops::template scores<1>(qs, kt, hd, t0, (len + 15) / 16, s);
      for (int t = 0; t < len; ++t) p[t0 + t] = s[0][t];
    }
    cls_softmax(p, n);
  }
}

}  // namespace
}  // namespace triage::kernels::detail
