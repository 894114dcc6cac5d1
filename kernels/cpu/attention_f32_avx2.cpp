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

// This kernel's pieces of the shared query loop (attention_shared_avx2.h: attend).
struct Ops {
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
};

}  // namespace

size_t attention_scratch_floats_avx2(int n_tokens, int hd) { return attention_scratch_floats_shared(n_tokens, hd); }

void attention_f32_avx2(const AttentionArgs& a, int head, int q0, int q1, float* scratch) {
  attend<Ops>(a, head, q0, q1, scratch);
}

}  // namespace triage::kernels::detail
