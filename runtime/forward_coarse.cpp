// The cfvit coarse pass: preprocess at Sc, stem, tokens, L blocks with ranking, head.
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
  blocks(w.xc, n, Nc, true);
  head(w.xc, n, Nc);
}

}  // namespace triage::rt
