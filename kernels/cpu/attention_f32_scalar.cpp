// Scalar reference attention for one head and a query range: per query, scores over all keys into
// scratch (n floats; never n x n), max, exp, sum, then the weighted sum of V. Plain loops.
#include <cmath>

#include "kernels/cpu/internal.h"

namespace triage::kernels::detail {

size_t attention_scratch_floats_scalar(int n_tokens, int hd) { return size_t(n_tokens); }

void attention_f32_scalar(const AttentionArgs& a, int head, int q0, int q1, float* scratch) {
  const int n = a.n_tokens, hd = a.dim / a.heads, col = head * hd;
  const float* Q = a.qkv + col;
  const float* K = a.qkv + a.dim + col;
  const float* V = a.qkv + 2 * a.dim + col;
  float* s = scratch;
  for (int i = q0; i < q1; ++i) {
    const float* q = Q + i * a.ld_qkv;
    float m = -INFINITY;
    for (int t = 0; t < n; ++t) {
      const float* k = K + t * a.ld_qkv;
      float d = 0.f;
      for (int j = 0; j < hd; ++j) d += q[j] * k[j];
      s[t] = d * a.scale;
      m = std::fmax(m, s[t]);
    }
    float l = 0.f;
    for (int t = 0; t < n; ++t) {
      s[t] = std::exp(s[t] - m);
      l += s[t];
    }
    float* o = a.out + i * a.ld_out + col;
    for (int j = 0; j < hd; ++j) {
      float acc = 0.f;
      for (int t = 0; t < n; ++t) acc += s[t] * V[t * a.ld_qkv + j];
      o[j] = acc / l;
    }
    if (i == 0 && a.cls_probs)
      for (int t = 0; t < n; ++t) a.cls_probs[t] = s[t] / l;
  }
}

}  // namespace triage::kernels::detail
