// Fused attention, AVX-512, one head, a query range (head_dim % 16 == 0; ops.cpp sends other head dims to
// the AVX2 kernel). The AVX2 kernel (attention_f32_avx2.cpp) with 512-bit scores and weighted sums:
// K of the head is transposed once per call into scratch (KT, blocks of 16 keys, one zmm per head-dim
// row of a block), 4 queries x 32 keys share each pair of KT loads (8 zmm FMA chains), and 4 queries x
// 64 output columns share each V row's loads (16 chains). The softmax is the AVX2 kernel's own code
// (attention_shared_avx2.h). Same bits as the AVX2 kernel: a score is one FMA chain over the head dim
// in order, an output element one FMA chain over the keys in order, whatever the vector width, and the
// softmax is shared (tests/kernels/test_attention.cpp compares the two bit for bit).
// Deterministic: a query's ops depend only on n (fixed key tiling), not on the query range.
#include <cmath>

#include "kernels/cpu/attention_shared_avx2.h"
#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx512.h"

namespace triage::kernels::detail {
namespace {

// This kernel's pieces of the shared query loop (attention_shared_avx2.h: attend).
struct Ops {
  // s[qi][t - t0] = (q_qi * scale) . k_t for t in [t0, t0 + 16 nb16). KT is blocked by 16 keys
  // ([n16/16][hd][16], 64-byte aligned), two blocks per step.
  template <int NQ>
  static void scores(const float* const* qs, const float* kt, int hd, int t0, int nb16, float (*s)[kTile]) {
    int b = 0;
    for (; b + 2 <= nb16; b += 2) {
      __m512 acc[NQ][2];
#pragma GCC unroll 4
      for (int qi = 0; qi < NQ; ++qi) acc[qi][0] = acc[qi][1] = _mm512_setzero_ps();
      const float* kp = kt + size_t(t0 / 16 + b) * hd * 16;
      const float* kp1 = kp + size_t(hd) * 16;
      for (int j = 0; j < hd; ++j) {
        const __m512 k0 = _mm512_load_ps(kp + j * 16);
        const __m512 k1 = _mm512_load_ps(kp1 + j * 16);
#pragma GCC unroll 4
        for (int qi = 0; qi < NQ; ++qi) {
          const __m512 qv = _mm512_set1_ps(qs[qi][j]);
          acc[qi][0] = _mm512_fmadd_ps(qv, k0, acc[qi][0]);
          acc[qi][1] = _mm512_fmadd_ps(qv, k1, acc[qi][1]);
        }
      }
#pragma GCC unroll 4
      for (int qi = 0; qi < NQ; ++qi) {
        _mm512_storeu_ps(&s[qi][b * 16], acc[qi][0]);
        _mm512_storeu_ps(&s[qi][b * 16 + 16], acc[qi][1]);
      }
    }
    if (b < nb16) {
      __m512 acc[NQ];
#pragma GCC unroll 4
      for (int qi = 0; qi < NQ; ++qi) acc[qi] = _mm512_setzero_ps();
      const float* kp = kt + size_t(t0 / 16 + b) * hd * 16;
      for (int j = 0; j < hd; ++j) {
        const __m512 k0 = _mm512_load_ps(kp + j * 16);
#pragma GCC unroll 4
        for (int qi = 0; qi < NQ; ++qi) acc[qi] = _mm512_fmadd_ps(_mm512_set1_ps(qs[qi][j]), k0, acc[qi]);
      }
#pragma GCC unroll 4
      for (int qi = 0; qi < NQ; ++qi) _mm512_storeu_ps(&s[qi][b * 16], acc[qi]);
    }
  }

  // o_q[c0 .. c0 + 16 CV) += sum_t p_q[t] * V[t][c0 ..] for the NQ queries of a group: each V load feeds
  // NQ FMAs. Each output element is one FMA chain over t in order, as in the AVX2 kernel.
  template <int NQ, int CV>
  static void pv_chunk(float* obuf, int hd, const float (*p)[kTile], const float* v, int64_t ldv, int len) {
    __m512 acc[NQ][CV];
#pragma GCC unroll 4
    for (int qi = 0; qi < NQ; ++qi)
#pragma GCC unroll 4
      for (int c = 0; c < CV; ++c) acc[qi][c] = _mm512_loadu_ps(obuf + qi * hd + 16 * c);
    for (int t = 0; t < len; ++t) {
      const float* vt = v + t * ldv;
      __m512 vv[CV];
#pragma GCC unroll 4
      for (int c = 0; c < CV; ++c) vv[c] = _mm512_loadu_ps(vt + 16 * c);
#pragma GCC unroll 4
      for (int qi = 0; qi < NQ; ++qi) {
        const __m512 pt = _mm512_set1_ps(p[qi][t]);
#pragma GCC unroll 4
        for (int c = 0; c < CV; ++c) acc[qi][c] = _mm512_fmadd_ps(pt, vv[c], acc[qi][c]);
      }
    }
#pragma GCC unroll 4
    for (int qi = 0; qi < NQ; ++qi)
#pragma GCC unroll 4
      for (int c = 0; c < CV; ++c) _mm512_storeu_ps(obuf + qi * hd + 16 * c, acc[qi][c]);
  }

  template <int NQ>
  static void pv_group(float* obuf, int hd, const float (*p)[kTile], const float* v, int64_t ldv, int len) {
    int c = 0;
    for (; c + 64 <= hd; c += 64) pv_chunk<NQ, 4>(obuf + c, hd, p, v + c, ldv, len);
    if (c + 32 <= hd) {
      pv_chunk<NQ, 2>(obuf + c, hd, p, v + c, ldv, len);
      c += 32;
    }
    if (c < hd) pv_chunk<NQ, 1>(obuf + c, hd, p, v + c, ldv, len);
  }
};

}  // namespace

size_t attention_scratch_floats_avx512(int n_tokens, int hd) { return attention_scratch_floats_shared(n_tokens, hd); }

void attention_f32_avx512(const AttentionArgs& a, int head, int q0, int q1, float* scratch) {
  attend<Ops>(a, head, q0, q1, scratch);
}

}  // namespace triage::kernels::detail
