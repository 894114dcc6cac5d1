// The cfvit fine pass (selection, re-split regions through the stem, feature reuse, fine tokens, L
// blocks, head) and the plain vit's single pass.
#include <algorithm>
#include <cmath>
#include <optional>

#include "runtime/forward.h"

namespace triage::rt {

namespace k = triage::kernels;

void Forward::select(int i, int ci, int kk) const {
  const ModelConfig& c = *cfg_;
  const int Gc = c.Gc, carried = c.fine_carried(kk);
  const float* scores = ws_->scores + static_cast<size_t>(ci) * Gc;
  const int32_t* pos = c.skips_coarse() ? ws_->skip + static_cast<size_t>(ci) * Gc : nullptr;
  int32_t* o = ws_->order + static_cast<size_t>(i) * Gc;
  for (int j = 0; j < Gc; ++j) o[j] = j;
  // Rank order: patches that ran to the end before those token skipping dropped, then score
  // descending, index ascending on ties: a strict total order, so std::sort (which does not allocate)
  // is deterministic. NaN ranks lowest, keeping the order valid on hostile weights.
  auto key = [&](int32_t j) { return std::isnan(scores[j]) ? -INFINITY : scores[j]; };
  auto dropped = [&](int32_t j) { return pos && pos[j] == 0; };
  std::sort(o, o + Gc, [&](int32_t a, int32_t b) {
    if (dropped(a) != dropped(b)) return !dropped(a);
    return key(a) != key(b) ? key(a) > key(b) : a < b;
  });
  std::sort(o, o + kk);
  std::sort(o + kk, o + kk + carried);
  std::sort(o + kk + carried, o + Gc);
}

void Forward::fine(const triage_image* images, const int* esc, int m, int kk) {
  const ModelConfig& c = *cfg_;
  const Workspace& w = *ws_;
  const int D = c.D, C = c.C, P = c.P, Sf = c.Sf, Gc = c.Gc, Nc = 1 + Gc, Wc = c.Wc, Wf = c.Wf;
  const int Nf = c.tokens_fine(kk), rs = 2 * P, pp = c.p * c.p * c.c2;
  const size_t full_plane = static_cast<size_t>(Sf) * Sf * C;
  ex_.pass = 1;
  std::optional<OpTimer> timer(std::in_place, ex_.profile, ex_.pass, Op::Reuse);

  // Which coarse patches are re-split, and which row bands of the full image they need.
  int nbands = 0;
  for (int i = 0; i < m; ++i) {
    select(i, esc[i], kk);
    const int32_t* sel = w.order + static_cast<size_t>(i) * Gc;
    for (int cy = 0; cy < Wc; ++cy)
      for (int s = 0; s < kk; ++s)
        if (sel[s] / Wc == cy) {
          w.bands[nbands++] = i * Wc + cy;
          break;
        }
  }
  // Preprocess only those bands of the full-resolution image (each output row is computed
  // independently, so these rows equal a whole-image resize).
  auto resize = [&](int b, int e, int t) {
    for (int q = b; q < e; ++q) {
      const int i = w.bands[q] / Wc, cy = w.bands[q] % Wc;
      preprocess_rows(images[esc[i]], Sf, w.img_f + i * full_plane, cy * rs, cy * rs + rs, t);
    }
  };
  timer.emplace(ex_.profile, ex_.pass, Op::Preprocess);
  ex_.pool->run(nbands, resize);
  timer.emplace(ex_.profile, ex_.pass, Op::Stem,
                static_cast<double>(m) * kk * (P * P * c.c1 * 9.0 * C + (P / 2) * (P / 2) * c.c2 * 9.0 * c.c1));

  // Each selected 2P x 2P region through the stem as an image of its own (zero padding at the region
  // border), read in place from the full image.
  const size_t r1_plane = static_cast<size_t>(P) * P * c.c1, r2_plane = static_cast<size_t>(P / 2) * (P / 2) * c.c2;
  auto regions = [&](int b, int e, int) {
    for (int r = b; r < e; ++r) {
      const int i = r / kk, j = w.order[static_cast<size_t>(i) * Gc + r % kk], cy = j / Wc, cx = j % Wc;
      const float* in = w.img_f + i * full_plane + (static_cast<size_t>(cy) * rs * Sf + static_cast<size_t>(cx) * rs) * C;
      k::conv3x3s2_f32(ex_.isa, in, rs, rs, C, static_cast<int64_t>(Sf) * C, pm_->stem0_w, pm_->stem0_b, c.c1, true,
                       w.r1 + r * r1_plane, 0, P);
      k::conv3x3s2_f32(ex_.isa, w.r1 + r * r1_plane, P, P, c.c1, static_cast<int64_t>(P) * c.c1, pm_->stem1_w,
                       pm_->stem1_b, c.c2, true, w.r2 + r * r2_plane, 0, P / 2);
      k::patch_gather_f32(w.r2 + r * r2_plane, P / 2, P / 2, c.c2, static_cast<int64_t>(P / 2) * c.c2, c.p,
                          w.fgat + static_cast<size_t>(r) * 4 * pp, pp, 0, 4);
    }
  };
  ex_.pool->run(m * kk, regions);
  timer.emplace(ex_.profile, ex_.pass, Op::PatchProj, static_cast<double>(m) * kk * 4 * pp * D);
  k::GemmEpilogue pe;
  pe.bias = pm_->patch.bias;
  pe.y = w.femb;
  pe.ldy = D;
  run_linear(ex_, pm_->patch, ActRows{w.fgat, nullptr, nullptr, pp}, m * kk * 4, pe);

  // Feature reuse: u = fc2(GELU(fc1(LN(z)))) over every coarse patch of the escalated images.
  timer.emplace(ex_.profile, ex_.pass, Op::Reuse, 2.0 * m * Gc * static_cast<double>(D) * c.Dr);
  const PackedLinear &f1 = pm_->reuse_fc1, &f2 = pm_->reuse_fc2;
  for (int i = 0; i < m; ++i) {
    const float* z = w.xc + (static_cast<size_t>(esc[i]) * Nc + 1) * D;
    const size_t row = static_cast<size_t>(i) * Gc;
    run_layernorm(ex_, z, D, Gc, D, pm_->reuse_norm_w, pm_->reuse_norm_b, c.ln_eps, f1.q8,
                  f1.q8 ? static_cast<void*>(reinterpret_cast<int8_t*>(w.ract) + row * D)
                        : static_cast<void*>(w.ract + row * D),
                  D, w.ract_scale + row);
  }
  k::GemmEpilogue e1;
  e1.bias = f1.bias;
  e1.gelu = true;
  if (f2.q8) {
    e1.yq = reinterpret_cast<int8_t*>(w.rhid);
    e1.ldyq = c.Dr;
    e1.yq_scale = w.rhid_scale;
  } else {
    e1.y = w.rhid;
    e1.ldy = c.Dr;
  }
  run_linear(ex_, f1, ActRows{w.ract, reinterpret_cast<const int8_t*>(w.ract), w.ract_scale, D}, m * Gc, e1);
  k::GemmEpilogue e2;
  e2.bias = f2.bias;
  e2.y = w.u;
  e2.ldy = D;
  run_linear(ex_, f2, ActRows{w.rhid, reinterpret_cast<const int8_t*>(w.rhid), w.rhid_scale, c.Dr}, m * Gc, e2);

  // Fine tokens: [cls + pos_fine[0]], selected regions (f + pos_fine + u) in ascending j as f00 f01
  // f10 f11, then the carried coarse tokens (x0 + u) in ascending j, then the fused token (keep_fine).
  for (int i = 0; i < m; ++i) {
    float* x = w.xf + static_cast<size_t>(i) * Nf * D;
    const int32_t* ord = w.order + static_cast<size_t>(i) * Gc;
    const float* u = w.u + static_cast<size_t>(i) * Gc * D;
    const float* x0 = w.x0 + static_cast<size_t>(esc[i]) * Nc * D;
    const float* pos = pm_->pos_fine;
    for (int d = 0; d < D; ++d) x[d] = pm_->cls[d] + pos[d];
    size_t t = 1;
    for (int s = 0; s < kk; ++s) {
      const int j = ord[s], cy = j / Wc, cx = j % Wc;
      const float* f = w.femb + (static_cast<size_t>(i) * kk + s) * 4 * D;
      for (int ab = 0; ab < 4; ++ab, ++t) {
        const size_t pi = 1 + static_cast<size_t>(2 * cy + ab / 2) * Wf + (2 * cx + ab % 2);
        for (int d = 0; d < D; ++d)
          x[t * D + d] = (f[static_cast<size_t>(ab) * D + d] + pos[pi * D + d]) + u[static_cast<size_t>(j) * D + d];
      }
    }
    const int carried_end = kk + c.fine_carried(kk);
    for (int s = kk; s < carried_end; ++s, ++t) {
      const int j = ord[s];
      for (int d = 0; d < D; ++d) x[t * D + d] = x0[static_cast<size_t>(1 + j) * D + d] + u[static_cast<size_t>(j) * D + d];
    }
    if (carried_end < Gc) {  // the fused token: the plain mean of the other unselected patches' tokens
      float* f = x + t * D;
      for (int d = 0; d < D; ++d) f[d] = 0;
      for (int s = carried_end; s < Gc; ++s) {
        const int j = ord[s];
        for (int d = 0; d < D; ++d) f[d] += x0[static_cast<size_t>(1 + j) * D + d] + u[static_cast<size_t>(j) * D + d];
      }
      const float inv = 1.0f / static_cast<float>(Gc - carried_end);
      for (int d = 0; d < D; ++d) f[d] *= inv;
      ++t;
    }
  }
  timer.reset();
  blocks(w.xf, m, Nf, false, 0, c.L);
  head(w.xf, m, Nf);
}

void Forward::vit(const triage_image* images, int n) {
  const ModelConfig& c = *cfg_;
  const Workspace& w = *ws_;
  const int D = c.D, C = c.C, Sf = c.Sf, Gf = c.Gf, N = 1 + Gf, PP = c.P * c.P * C;
  const size_t plane = static_cast<size_t>(Sf) * Sf * C;
  ex_.pass = 1;
  preprocess(images, nullptr, n, Sf, w.img_f);
  std::optional<OpTimer> timer(std::in_place, ex_.profile, ex_.pass, Op::Stem);
  auto gather = [&](int b, int e, int) {
    for (int i = b; i < e; ++i)
      k::patch_gather_f32(w.img_f + i * plane, Sf, Sf, C, static_cast<int64_t>(Sf) * C, c.P,
                          w.fgat + static_cast<size_t>(i) * Gf * PP, PP, 0, Gf);
  };
  ex_.pool->run(n, gather);
  timer.emplace(ex_.profile, ex_.pass, Op::PatchProj, static_cast<double>(n) * Gf * PP * D);
  k::GemmEpilogue ep;
  ep.bias = pm_->patch.bias;
  ep.y = w.femb;
  ep.ldy = D;
  run_linear(ex_, pm_->patch, ActRows{w.fgat, nullptr, nullptr, PP}, n * Gf, ep);
  for (int i = 0; i < n; ++i) {
    float* x = w.xf + static_cast<size_t>(i) * N * D;
    const float* e = w.femb + static_cast<size_t>(i) * Gf * D;
    for (int d = 0; d < D; ++d) x[d] = pm_->cls[d] + pm_->pos_fine[d];
    for (size_t t = D; t < static_cast<size_t>(N) * D; ++t) x[t] = e[t - D] + pm_->pos_fine[t];
  }
  timer.reset();
  blocks(w.xf, n, N, false, 0, c.L);
  head(w.xf, n, N);
}

}  // namespace triage::rt
