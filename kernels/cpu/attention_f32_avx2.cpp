// Fused attention, AVX2 + FMA, one head, a query range. K of the head is transposed once per call
// into scratch (KT, blocks of 16 keys) so scores are computed 8 keys per vector; 4 queries x 16 keys share
// each KT load (8 independent FMA chains), and 4 queries x 16 output columns share each V load. Keys are tiled (kTile) with an online softmax: running
// max m, sum l and output o are rescaled by exp(m_old - m_new) per tile. No n x n buffer.
// Deterministic: a query's ops depend only on n (fixed key tiling), not on the query range.
#include <cmath>

#include "kernels/cpu/attention_shared_avx2.h"
#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

constexpr int kTile = 128;  // keys per online-softmax tile
constexpr int kQB = 4;      // queries sharing KT loads

// s[qi][t - t0] = (q_qi * scale) . k_t for t in [t0, t0 + 16 nb16). KT is blocked by 16 keys
// ([n16/16][hd][16]) so one block's hd rows are contiguous (4 KB at hd 64).
template <int NQ>
static void scores(const float* const* qs, const float* kt, int hd, int t0, int nb16, float (*s)[kTile]) {
  for (int b = 0; b < nb16; ++b) {
    __m256 acc[NQ][2];
#pragma GCC unroll 4
    for (int qi = 0; qi < NQ; ++qi) acc[qi][0] = acc[qi][1] = _mm256_setzero_ps();
    const float* kp = kt + size_t(t0 / 16 + b) * hd * 16;
    for (int j = 0; j < hd; ++j) {
      const __m256 k0 = _mm256_load_ps(kp + j * 16);
      const __m256 k1 = _mm256_load_ps(kp + j * 16 + 8);
#pragma GCC unroll 4
      for (int qi = 0; qi < NQ; ++qi) {
        const __m256 qv = _mm256_broadcast_ss(qs[qi] + j);
        acc[qi][0] = _mm256_fmadd_ps(qv, k0, acc[qi][0]);
        acc[qi][1] = _mm256_fmadd_ps(qv, k1, acc[qi][1]);
      }
    }
#pragma GCC unroll 4
    for (int qi = 0; qi < NQ; ++qi) {
      _mm256_storeu_ps(&s[qi][b * 16], acc[qi][0]);
      _mm256_storeu_ps(&s[qi][b * 16 + 8], acc[qi][1]);
    }
  }
}

// o_q[c0 .. c0 + 8 CV) += sum_t p_q[t] * V[t][c0 ..] for the NQ queries of a group: each V load
// feeds NQ FMAs (V streams from L2 once per group, not once per query). Each output element is
// still one FMA chain over t in order, whatever the group size.
template <int NQ, int CV>
static void pv_chunk(float* obuf, int hd, const float (*p)[kTile], const float* v, int64_t ldv, int len) {
  __m256 acc[NQ][CV];
#pragma GCC unroll 4
  for (int qi = 0; qi < NQ; ++qi)
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) acc[qi][c] = _mm256_loadu_ps(obuf + qi * hd + 8 * c);
  for (int t = 0; t < len; ++t) {
    const float* vt = v + t * ldv;
    __m256 vv[CV];
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) vv[c] = _mm256_loadu_ps(vt + 8 * c);
#pragma GCC unroll 4
    for (int qi = 0; qi < NQ; ++qi) {
      const __m256 pt = _mm256_broadcast_ss(&p[qi][t]);
#pragma GCC unroll 4
      for (int c = 0; c < CV; ++c) acc[qi][c] = _mm256_fmadd_ps(pt, vv[c], acc[qi][c]);
    }
  }
#pragma GCC unroll 4
  for (int qi = 0; qi < NQ; ++qi)
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) _mm256_storeu_ps(obuf + qi * hd + 8 * c, acc[qi][c]);
}

template <int NQ>
static void pv_group(float* obuf, int hd, const float (*p)[kTile], const float* v, int64_t ldv, int len) {
  int c = 0;
  for (; c + 16 <= hd; c += 16) pv_chunk<NQ, 2>(obuf + c, hd, p, v + c, ldv, len);
  if (c < hd) pv_chunk<NQ, 1>(obuf + c, hd, p, v + c, ldv, len);
}

static inline void scale_vec(float* o, int hd, float f) {
  const __m256 fv = _mm256_set1_ps(f);
  for (int c = 0; c < hd; c += 8) _mm256_storeu_ps(o + c, _mm256_mul_ps(_mm256_loadu_ps(o + c), fv));
}

template <int NQ>
static void query_group(const AttentionArgs& a, int hd, int col, const float* kt, int i0,
                        float* qbuf, float* obuf) {
  const int n = a.n_tokens;
  const float* V = a.qkv + 2 * a.dim + col;
  const float* qs[kQB];
  float m[kQB], l[kQB];
  for (int qi = 0; qi < NQ; ++qi) {
    const float* q = a.qkv + (i0 + qi) * a.ld_qkv + col;
    float* qq = qbuf + qi * hd;
    scale_query(q, a.scale, hd, qq);  // fold the scale into q
    qs[qi] = qq;
    m[qi] = -INFINITY;
    l[qi] = 0.f;
    for (int j = 0; j < hd; ++j) obuf[qi * hd + j] = 0.f;
  }
  alignas(32) float s[kQB][kTile];
  for (int t0 = 0; t0 < n; t0 += kTile) {
    const int len = n - t0 < kTile ? n - t0 : kTile;
    scores<NQ>(qs, kt, hd, t0, (len + 15) / 16, s);
    for (int qi = 0; qi < NQ; ++qi) {
      const float mt = max_of(s[qi], len);
      const float mn = mt > m[qi] ? mt : m[qi];
      const float alpha = std::exp(m[qi] - mn);  // 0 on the first tile (exp(-inf))
      const float ps = exp_sum(s[qi], len, mn);
      if (t0 > 0) scale_vec(obuf + qi * hd, hd, alpha);
      l[qi] = l[qi] * alpha + ps;
      m[qi] = mn;
    }
    pv_group<NQ>(obuf, hd, s, V + t0 * a.ld_qkv, a.ld_qkv, len);
  }
  for (int qi = 0; qi < NQ; ++qi) {
    float* out = a.out + (i0 + qi) * a.ld_out + col;
    const __m256 inv = _mm256_set1_ps(1.f / l[qi]);
    for (int c = 0; c < hd; c += 8) _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_loadu_ps(obuf + qi * hd + c), inv));
  }
}

}  // namespace

size_t attention_scratch_floats_avx2(int n_tokens, int hd) {
  // KT [n16/16][hd][16] (+ 8 floats to align it to 32 bytes), scaled q and o for kQB queries.
  return size_t(hd) * round_up(n_tokens, 16) + 8 + 2 * kQB * size_t(hd);
}

void attention_f32_avx2(const AttentionArgs& a, int head, int q0, int q1, float* scratch) {
  const int n = a.n_tokens, hd = a.dim / a.heads, col = head * hd, n16 = round_up(n, 16);
  float* kt = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 31) & ~uintptr_t(31));
  float* qbuf = kt + size_t(hd) * n16;
  float* obuf = qbuf + kQB * hd;
  const float* K = a.qkv + a.dim + col;
  // Scalar transpose here: the tiled one (transpose_k) is 5x faster by itself, but this kernel ran
  // 15-45% slower after it on the Zen 4 EPYC (every query after the transpose cost more; measured
  // 2026-12-07, cause not found), while the AVX-512 kernel gains from it. Same data either way.
  for (int t = 0; t < n16; ++t) {
    float* dst = kt + size_t(t / 16) * hd * 16 + (t % 16);
    if (t < n) {
      const float* kr = K + t * a.ld_qkv;
      for (int j = 0; j < hd; ++j) dst[j * 16] = kr[j];
    } else {
      for (int j = 0; j < hd; ++j) dst[j * 16] = 0.f;
    }
  }
  int i = q0;
  for (; i + kQB <= q1; i += kQB) query_group<kQB>(a, hd, col, kt, i, qbuf, obuf);
  switch (q1 - i) {
    case 3: query_group<3>(a, hd, col, kt, i, qbuf, obuf); break;
    case 2: query_group<2>(a, hd, col, kt, i, qbuf, obuf); break;
    case 1: query_group<1>(a, hd, col, kt, i, qbuf, obuf); break;
    default: break;
  }
  if (a.cls_probs && q0 == 0) {
    // The CLS query's probabilities over all keys: two passes over a row of n (caller memory).
    float* p = a.cls_probs;
    scale_query(a.qkv + col, a.scale, hd, qbuf);
    const float* qs[1] = {qbuf};
    alignas(32) float s[1][kTile];
    for (int t0 = 0; t0 < n; t0 += kTile) {
      const int len = n - t0 < kTile ? n - t0 : kTile;
      scores<1>(qs, kt, hd, t0, (len + 15) / 16, s);
      for (int t = 0; t < len; ++t) p[t0 + t] = s[0][t];
    }
    cls_softmax(p, n);
  }
}

}  // namespace triage::kernels::detail
