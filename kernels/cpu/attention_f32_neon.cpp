// Fused attention, NEON, one head, a query range (head_dim % 4 == 0; ops.cpp sends other head dims to
// the scalar kernel). The AVX2 kernel's structure with 4-lane vectors: K of the head is transposed once
// per call into scratch (KT, blocks of 16 keys) so 4 queries x 16 keys share each KT load (16 FMA
// chains), and 4 queries x 16 output columns share each V load. Keys are tiled (kTile) with an online
// softmax: running max m, sum l and output o rescaled by exp(m_old - m_new) per tile. No n x n buffer.
// Deterministic: a query's ops depend only on n (fixed key tiling), not on the query range.
#include <cmath>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_neon.h"

namespace triage::kernels::detail {
namespace {

constexpr int kTile = 128;  // keys per online-softmax tile
constexpr int kQB = 4;      // queries sharing KT loads

// s[qi][t - t0] = (q_qi * scale) . k_t for t in [t0, t0 + 16 nb16). KT is [n16/16][hd][16].
template <int NQ>
static void scores(const float* const* qs, const float* kt, int hd, int t0, int nb16, float (*s)[kTile]) {
  for (int b = 0; b < nb16; ++b) {
    float32x4_t acc[NQ][4];
#pragma GCC unroll 4
    for (int qi = 0; qi < NQ; ++qi) acc[qi][0] = acc[qi][1] = acc[qi][2] = acc[qi][3] = vdupq_n_f32(0.f);
    const float* kp = kt + size_t(t0 / 16 + b) * hd * 16;
    for (int j = 0; j < hd; ++j) {
      const float32x4_t k0 = vld1q_f32(kp + j * 16), k1 = vld1q_f32(kp + j * 16 + 4);
      const float32x4_t k2 = vld1q_f32(kp + j * 16 + 8), k3 = vld1q_f32(kp + j * 16 + 12);
#pragma GCC unroll 4
      for (int qi = 0; qi < NQ; ++qi) {
        const float qv = qs[qi][j];
        acc[qi][0] = vfmaq_n_f32(acc[qi][0], k0, qv);
        acc[qi][1] = vfmaq_n_f32(acc[qi][1], k1, qv);
        acc[qi][2] = vfmaq_n_f32(acc[qi][2], k2, qv);
        acc[qi][3] = vfmaq_n_f32(acc[qi][3], k3, qv);
      }
    }
#pragma GCC unroll 4
    for (int qi = 0; qi < NQ; ++qi)
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) vst1q_f32(&s[qi][b * 16 + 4 * c], acc[qi][c]);
  }
}

// In place p = exp(s - m) over [0, len) (lanes past len computed and zeroed); returns sum p over
// [0, len) in a fixed order (4 lanes, then horizontal).
static inline float exp_sum(float* s, int len, float m) {
  const float32x4_t mv = vdupq_n_f32(m);
  float32x4_t sum = vdupq_n_f32(0.f);
  int t = 0;
  for (; t + 4 <= len; t += 4) {
    const float32x4_t p = exp_neon(vsubq_f32(vld1q_f32(s + t), mv));
    vst1q_f32(s + t, p);
    sum = vaddq_f32(sum, p);
  }
  if (t < len) {  // s has room for the whole 16-key block (scores wrote it)
    static const uint32_t kIdx[4] = {0, 1, 2, 3};
    const uint32x4_t mask = vcltq_u32(vld1q_u32(kIdx), vdupq_n_u32(uint32_t(len - t)));
    const float32x4_t p = vreinterpretq_f32_u32(
        vandq_u32(vreinterpretq_u32_f32(exp_neon(vsubq_f32(vld1q_f32(s + t), mv))), mask));
    vst1q_f32(s + t, p);
    sum = vaddq_f32(sum, p);
  }
  return hsum_neon(sum);
}

// max over [0, len); entries past len are not read (s may end at len: cls_probs).
static inline float max_of(const float* s, int len) {
  float32x4_t m = vdupq_n_f32(-INFINITY);
  int t = 0;
  for (; t + 4 <= len; t += 4) m = vmaxq_f32(m, vld1q_f32(s + t));
  float r = hmax_neon(m);
  for (; t < len; ++t) r = s[t] > r ? s[t] : r;
  return r;
}

// o_q[c0 .. c0 + 4 CV) += sum_t p_q[t] * V[t][c0 ..] for the NQ queries of a group. Each output
// element is one FMA chain over t in order, whatever the group size.
template <int NQ, int CV>
static void pv_chunk(float* obuf, int hd, const float (*p)[kTile], const float* v, int64_t ldv, int len) {
  float32x4_t acc[NQ][CV];
#pragma GCC unroll 4
  for (int qi = 0; qi < NQ; ++qi)
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) acc[qi][c] = vld1q_f32(obuf + qi * hd + 4 * c);
  for (int t = 0; t < len; ++t) {
    const float* vt = v + t * ldv;
    float32x4_t vv[CV];
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) vv[c] = vld1q_f32(vt + 4 * c);
#pragma GCC unroll 4
    for (int qi = 0; qi < NQ; ++qi) {
      const float pt = p[qi][t];
#pragma GCC unroll 4
      for (int c = 0; c < CV; ++c) acc[qi][c] = vfmaq_n_f32(acc[qi][c], vv[c], pt);
    }
  }
#pragma GCC unroll 4
  for (int qi = 0; qi < NQ; ++qi)
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) vst1q_f32(obuf + qi * hd + 4 * c, acc[qi][c]);
}

template <int NQ>
static void pv_group(float* obuf, int hd, const float (*p)[kTile], const float* v, int64_t ldv, int len) {
  int c = 0;
  for (; c + 16 <= hd; c += 16) pv_chunk<NQ, 4>(obuf + c, hd, p, v + c, ldv, len);
  for (; c < hd; c += 4) pv_chunk<NQ, 1>(obuf + c, hd, p, v + c, ldv, len);
}

static inline void scale_vec(float* o, int hd, float f) {
  for (int c = 0; c < hd; c += 4) vst1q_f32(o + c, vmulq_n_f32(vld1q_f32(o + c), f));
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
    for (int j = 0; j < hd; ++j) qq[j] = q[j] * a.scale;  // fold the scale into q
    qs[qi] = qq;
    m[qi] = -INFINITY;
    l[qi] = 0.f;
    for (int j = 0; j < hd; ++j) obuf[qi * hd + j] = 0.f;
  }
  alignas(16) float s[kQB][kTile];
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
    const float inv = 1.f / l[qi];
    for (int c = 0; c < hd; c += 4) vst1q_f32(out + c, vmulq_n_f32(vld1q_f32(obuf + qi * hd + c), inv));
  }
}

}  // namespace

size_t attention_scratch_floats_neon(int n_tokens, int hd) {
  // KT [n16/16][hd][16] (+ 4 floats to align it to 16 bytes), scaled q and o for kQB queries.
  return size_t(hd) * round_up(n_tokens, 16) + 4 + 2 * kQB * size_t(hd);
}

void attention_f32_neon(const AttentionArgs& a, int head, int q0, int q1, float* scratch) {
  const int n = a.n_tokens, hd = a.dim / a.heads, col = head * hd, n16 = round_up(n, 16);
  float* kt = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 15) & ~uintptr_t(15));
  float* qbuf = kt + size_t(hd) * n16;
  float* obuf = qbuf + kQB * hd;
  const float* K = a.qkv + a.dim + col;
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
    for (int j = 0; j < hd; ++j) qbuf[j] = a.qkv[col + j] * a.scale;
    const float* qs[1] = {qbuf};
    alignas(16) float s[1][kTile];
    for (int t0 = 0; t0 < n; t0 += kTile) {
      const int len = n - t0 < kTile ? n - t0 : kTile;
      scores<1>(qs, kt, hd, t0, (len + 15) / 16, s);
      for (int t = 0; t < len; ++t) p[t0 + t] = s[0][t];
    }
    const float m = max_of(p, n);
    float l = 0.f;
    for (int t = 0; t < n; ++t) {
      p[t] = std::exp(p[t] - m);
      l += p[t];
    }
    const float inv = 1.f / l;
    for (int t = 0; t < n; ++t) p[t] *= inv;
  }
}

}  // namespace triage::kernels::detail
