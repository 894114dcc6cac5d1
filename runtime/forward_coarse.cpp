// The cfvit coarse pass: preprocess at Sc, stem, tokens, L blocks with ranking, head.
#include <algorithm>
#include <cmath>
#include <optional>

#include "runtime/forward.h"

namespace triage::rt {

namespace k = triage::kernels;

void Forward::coarse(const triage_image* images, int n) {
  const ModelConfig& c = *cfg_;
  const Workspace& w = *ws_;
  const int Sc = c.Sc, C = c.C, D = c.D, Gc = c.Gc, Nc = 1 + Gc, h1 = Sc / 2, h2 = Sc / 4;
  const int pp = c.p * c.p * c.c2;
  ex_.pass = 0;
  preprocess(images, nullptr, n, Sc, w.img_c);
  std::optional<OpTimer> stem(std::in_place, ex_.profile, ex_.pass, Op::Stem,
                              static_cast<double>(n) * (h1 * h1 * c.c1 * 9.0 * C + h2 * h2 * c.c2 * 9.0 * c.c1));

  // Stem: two 3x3 stride-2 convolutions (BN folded, ReLU), tasks = (image, output row).
  const size_t img_plane = static_cast<size_t>(Sc) * Sc * C, s1_plane = static_cast<size_t>(h1) * h1 * c.c1,
               s2_plane = static_cast<size_t>(h2) * h2 * c.c2;
  auto conv0 = [&](int b, int e, int) {
    for (int i = b; i < e; ++i)
      k::conv3x3s2_f32(ex_.isa, w.img_c + (i / h1) * img_plane, Sc, Sc, C, static_cast<int64_t>(Sc) * C, pm_->stem0_w,
                       pm_->stem0_b, c.c1, true, w.s1 + (i / h1) * s1_plane, i % h1, i % h1 + 1);
  };
  ex_.pool->run(n * h1, conv0);
  auto conv1 = [&](int b, int e, int) {
    for (int i = b; i < e; ++i)
      k::conv3x3s2_f32(ex_.isa, w.s1 + (i / h2) * s1_plane, h1, h1, c.c1, static_cast<int64_t>(h1) * c.c1,
                       pm_->stem1_w, pm_->stem1_b, c.c2, true, w.s2 + (i / h2) * s2_plane, i % h2, i % h2 + 1);
  };
  ex_.pool->run(n * h2, conv1);
  // Patch projection: gather p x p patches, one GEMM over all images' patches.
  auto gather = [&](int b, int e, int) {
    for (int i = b; i < e; ++i)
      k::patch_gather_f32(w.s2 + i * s2_plane, h2, h2, c.c2, static_cast<int64_t>(h2) * c.c2, c.p,
                          w.gat + static_cast<size_t>(i) * Gc * pp, pp, 0, Gc);
  };
  ex_.pool->run(n, gather);
  stem.reset();
  std::optional<OpTimer> proj(std::in_place, ex_.profile, ex_.pass, Op::PatchProj, static_cast<double>(n) * Gc * pp * D);
  k::GemmEpilogue ep;
  ep.bias = pm_->patch.bias;
  ep.y = w.emb;
  ep.ldy = D;
  run_linear(ex_, pm_->patch, ActRows{w.gat, nullptr, nullptr, pp}, n * Gc, ep);

  // x0 = [cls; e] + pos_coarse; the residual stream starts as a copy (x0 is kept for the fine pass).
  for (int i = 0; i < n; ++i) {
    float* x0 = w.x0 + static_cast<size_t>(i) * Nc * D;
    float* xc = w.xc + static_cast<size_t>(i) * Nc * D;
    const float* e = w.emb + static_cast<size_t>(i) * Gc * D;
    for (int d = 0; d < D; ++d) x0[d] = pm_->cls[d] + pm_->pos_coarse[d];
    for (size_t t = D; t < static_cast<size_t>(Nc) * D; ++t) x0[t] = e[t - D] + pm_->pos_coarse[t];
    for (size_t t = 0; t < static_cast<size_t>(Nc) * D; ++t) xc[t] = x0[t];
  }
  proj.reset();
  if (!c.skips_coarse()) {
    blocks(w.xc, n, Nc, true, 0, c.L);
  } else {
    const int s = c.skip_layer, Nk = c.tokens_coarse_kept();
    blocks(w.xc, n, Nc, true, 0, s, s - 1);
    skip_tokens(n);
    blocks(w.xk, n, Nk, true, s, c.L);
    // Back into xc: the CLS and kept rows after the last block; dropped rows keep their skip-layer
    // features (what feature reuse reads for them).
    for (int i = 0; i < n; ++i) {
      float* xc = w.xc + static_cast<size_t>(i) * Nc * D;
      const float* xk = w.xk + static_cast<size_t>(i) * Nk * D;
      const int32_t* pos = w.skip + static_cast<size_t>(i) * Gc;
      std::copy(xk, xk + D, xc);
      for (int j = 0; j < Gc; ++j)
        if (pos[j]) std::copy(xk + static_cast<size_t>(pos[j]) * D, xk + static_cast<size_t>(pos[j] + 1) * D, xc + static_cast<size_t>(1 + j) * D);
    }
  }
  head(w.xc, n, Nc);
}

void Forward::skip_tokens(int n) {
  const ModelConfig& c = *cfg_;
  const Workspace& w = *ws_;
  const int D = c.D, Gc = c.Gc, Nc = 1 + Gc, Nk = c.tokens_coarse_kept(), kc = c.keep_coarse;
  OpTimer timer(ex_.profile, ex_.pass, Op::Route);
  for (int i = 0; i < n; ++i) {
    // a[j] = mean over heads of A_h[0, 1 + j] at block skip_layer - 1, into the scores row (the ranking
    // layers overwrite the kept patches' entries; a dropped patch ranks by it).
    float* a = w.scores + static_cast<size_t>(i) * Gc;
    const float* p = w.cls_probs + static_cast<size_t>(i) * c.H * Nc;
    for (int j = 0; j < Gc; ++j) {
      float m = 0;
      for (int h = 0; h < c.H; ++h) m += p[static_cast<size_t>(h) * Nc + 1 + j];
      a[j] = m / static_cast<float>(c.H);
    }
    // The kc largest (ties to the smaller index; NaN lowest) are kept, in ascending order.
    int32_t* o = w.order + static_cast<size_t>(i) * Gc;
    for (int j = 0; j < Gc; ++j) o[j] = j;
    auto key = [&](int32_t j) { return std::isnan(a[j]) ? -INFINITY : a[j]; };
    std::sort(o, o + Gc, [&](int32_t x, int32_t y) { return key(x) != key(y) ? key(x) > key(y) : x < y; });
    std::sort(o, o + kc);
    std::sort(o + kc, o + Gc);
    int32_t* pos = w.skip + static_cast<size_t>(i) * Gc;
    const float* xc = w.xc + static_cast<size_t>(i) * Nc * D;
    float* xk = w.xk + static_cast<size_t>(i) * Nk * D;
    std::copy(xc, xc + D, xk);
    for (int j = 0; j < Gc; ++j) pos[j] = 0;
    for (int t = 0; t < kc; ++t) {
      pos[o[t]] = 1 + t;
      std::copy(xc + static_cast<size_t>(1 + o[t]) * D, xc + static_cast<size_t>(2 + o[t]) * D, xk + static_cast<size_t>(1 + t) * D);
    }
    // The fused token: the attention-weighted mean of the dropped tokens (the plain mean if their
    // weights sum to zero), summed in ascending patch order.
    float wsum = 0;
    for (int t = kc; t < Gc; ++t) wsum += key(o[t]) > 0 ? a[o[t]] : 0.0f;
    float* f = xk + static_cast<size_t>(kc + 1) * D;
    for (int d = 0; d < D; ++d) f[d] = 0;
    const bool weighted = wsum > 0 && std::isfinite(wsum);
    for (int t = kc; t < Gc; ++t) {
      const float wt = weighted ? (key(o[t]) > 0 ? a[o[t]] / wsum : 0.0f) : 1.0f / static_cast<float>(Gc - kc);
      const float* r = xc + static_cast<size_t>(1 + o[t]) * D;
      for (int d = 0; d < D; ++d) f[d] += wt * r[d];
    }
  }
}

}  // namespace triage::rt
