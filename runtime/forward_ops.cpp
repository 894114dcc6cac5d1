// Static partitioning of the kernel calls (see forward_ops.h).
#include "runtime/forward_ops.h"

#include <cmath>

namespace triage::rt {

namespace k = triage::kernels;

void run_linear(const Exec& ex, const PackedLinear& w, const ActRows& x, int M, const k::GemmEpilogue& ep) {
  if (M <= 0) return;
  const int T = ex.pool->threads();
  auto gemm = [&](int m0, int m1, int n0, int n1, float* scratch) {
    if (w.q8) k::gemm_q8(w.q, x.q, x.ld, x.scale, ep, m0, m1, n0, n1, scratch);
    else k::gemm_f32(w.f, x.f, x.ld, ep, m0, m1, n0, n1, scratch);
  };
  // Split rows when there are enough (or when the output is quantised: whole rows only), else split
  // column blocks (few rows: the head, a batch of one CLS token).
  if (T == 1 || ep.yq || M >= 6 * T) {
    auto task = [&](int b, int e, int t) { gemm(b, e, 0, w.n, ex.thread_scratch(t)); };
    ex.pool->run(M, task);
  } else {
    const int cb = w.col_block(), blocks = (w.n + cb - 1) / cb;
    auto task = [&](int b, int e, int t) {
      const int n1 = e * cb < w.n ? e * cb : w.n;
      gemm(0, M, b * cb, n1, ex.thread_scratch(t));
    };
    ex.pool->run(blocks, task);
  }
}

void run_layernorm(const Exec& ex, const float* x, int64_t ldx, int rows, int dim, const float* g, const float* b,
                   float eps, bool q8, void* y, int64_t ldy, float* y_scale) {
  auto task = [&](int r0, int r1, int) {
    if (q8)
      k::layernorm_quant_q8(ex.isa, x + r0 * ldx, ldx, r1 - r0, dim, g, b, eps, static_cast<int8_t*>(y) + r0 * ldy,
                            ldy, y_scale + r0);
    else
      k::layernorm_f32(ex.isa, x + r0 * ldx, ldx, r1 - r0, dim, g, b, eps, static_cast<float*>(y) + r0 * ldy, ldy);
  };
  ex.pool->run(rows, task);
}

void run_quantize(const Exec& ex, const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
                  float* y_scale) {
  auto task = [&](int r0, int r1, int) {
    k::quantize_rows_q8(ex.isa, x + r0 * ldx, ldx, r1 - r0, dim, y + r0 * ldy, ldy, y_scale + r0);
  };
  ex.pool->run(rows, task);
}

// Query blocks per head. A kernel call transposes K of its head once, so every extra block of a head
// repeats that work: one block at one thread; with T threads the fewest blocks (up to 4) that give
// every thread the same number of (image, head, block) tasks, which the pool hands out in T equal
// contiguous ranges; else blocks of about 32 queries. A query's result does not depend on its block
// (kernels.h: the kernels' ops depend only on n), so the bits are the same at every thread count.
int attention_query_blocks(int images, int heads, int threads, int n) {
  if (threads <= 1) return 1;
  for (int qs = 1; qs <= 4 && 4 * qs <= n; ++qs)
    if ((static_cast<int64_t>(images) * heads * qs) % threads == 0) return qs;
  return (n + 31) / 32;
}

// First query of block j of qs: n j / qs rounded to the nearest multiple of 4 (the kernels work in
// groups of 4 queries); block qs starts at n.
int query_block_start(int n, int qs, int j) {
  if (j >= qs) return n;
  const int q = (static_cast<int>(static_cast<int64_t>(n) * j / qs) + 2) / 4 * 4;
  return q < n ? q : n;
}

void run_attention(const Exec& ex, const float* qkv, int images, int n, int D, int H, float* out, float* cls_probs) {
  const int qblocks = attention_query_blocks(images, H, ex.pool->threads(), n), per_image = H * qblocks;
  // hd^-0.5 computed in double and rounded once, as the reference multiplies by a Python float.
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D / H)));
  auto task = [&](int b, int e, int t) {
    for (int i = b; i < e; ++i) {
      const int img = i / per_image, h = (i % per_image) / qblocks, qb = i % qblocks;
      k::AttentionArgs a;
      a.qkv = qkv + static_cast<int64_t>(img) * n * 3 * D;
      a.ld_qkv = 3 * D;
      a.n_tokens = n;
      a.dim = D;
      a.heads = H;
      a.scale = scale;
      a.out = out + static_cast<int64_t>(img) * n * D;
      a.ld_out = D;
      a.cls_probs = cls_probs ? cls_probs + (static_cast<int64_t>(img) * H + h) * n : nullptr;
      const int q0 = query_block_start(n, qblocks, qb), q1 = query_block_start(n, qblocks, qb + 1);
      if (q1 > q0) k::attention_f32(ex.isa, a, h, q0, q1, ex.thread_scratch(t));
    }
  };
  ex.pool->run(images * per_image, task);
}

}  // namespace triage::rt
