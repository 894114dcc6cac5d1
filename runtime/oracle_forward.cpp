// The oracle forward pass: simple loops that follow docs/model-family.md line by line. Tensors are f32;
// dot products and LayerNorm statistics accumulate in double so that the oracle's own rounding stays far
// below the tolerances of the paths checked against it.
#include "runtime/oracle_forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace triage::rt {
namespace {

std::vector<float> f32_or_empty(Tensor t) { return t ? tensor_to_f32(*t) : std::vector<float>{}; }

// Value of sample (y, x, c) of the image, mapped to [0, 1] by max_value (step 1 of preprocessing).
float sample(const triage_image& img, int y, int x, int c, float max_value) {
  const uint8_t* row = static_cast<const uint8_t*>(img.data) + static_cast<size_t>(y) * img.row_stride;
  const size_t i = static_cast<size_t>(x) * img.channels + c;
  float v;
  if (img.pixel == TRIAGE_PIXEL_U16) {
    uint16_t u;
    std::memcpy(&u, row + 2 * i, 2);
    v = static_cast<float>(u);
  } else {
    v = static_cast<float>(row[i]);
  }
  return v / max_value;
}

// Source coordinate of output index d on an axis of input length n resized to s (half-pixel centres).
void source_index(int d, int n, int s, int& i0, int& i1, float& t) {
  const float scale = static_cast<float>(n) / static_cast<float>(s);
  float src = (static_cast<float>(d) + 0.5f) * scale - 0.5f;
  if (src < 0) src = 0;
  i0 = static_cast<int>(std::floor(src));
  if (i0 > n - 1) i0 = n - 1;
  i1 = std::min(i0 + 1, n - 1);
  t = src - static_cast<float>(i0);
}

}  // namespace

float Oracle::gelu(float x) { return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)))); }

void Oracle::init(const ModelConfig& cfg, const ModelTensors& t) {
  cfg_ = cfg;
  auto lin = [](const LinearTensors& l) {
    Linear r;
    if (!l.w) return r;
    r.w = tensor_to_f32(*l.w);
    r.b = tensor_to_f32(*l.b);
    r.out = static_cast<int>(l.w->dims[0]);
    r.in = static_cast<int>(l.w->dims[1]);
    return r;
  };
  stem0_w_ = f32_or_empty(t.stem0_w);
  stem0_b_ = f32_or_empty(t.stem0_b);
  stem1_w_ = f32_or_empty(t.stem1_w);
  stem1_b_ = f32_or_empty(t.stem1_b);
  patch_w_ = f32_or_empty(t.patch_w);
  patch_b_ = f32_or_empty(t.patch_b);
  cls_ = f32_or_empty(t.cls);
  pos_coarse_ = f32_or_empty(t.pos_coarse);
  pos_fine_ = f32_or_empty(t.pos_fine);
  blocks_.clear();
  for (const BlockTensors& b : t.blocks) {
    Block k;
    k.ln1_w = tensor_to_f32(*b.ln1_w);
    k.ln1_b = tensor_to_f32(*b.ln1_b);
    k.ln2_w = tensor_to_f32(*b.ln2_w);
    k.ln2_b = tensor_to_f32(*b.ln2_b);
    k.qkv = lin(b.qkv);
    k.proj = lin(b.proj);
    k.fc1 = lin(b.fc1);
    k.fc2 = lin(b.fc2);
    blocks_.push_back(std::move(k));
  }
  norm_w_ = f32_or_empty(t.norm_w);
  norm_b_ = f32_or_empty(t.norm_b);
  head_ = lin(t.head);
  reuse_norm_w_ = f32_or_empty(t.reuse_norm_w);
  reuse_norm_b_ = f32_or_empty(t.reuse_norm_b);
  reuse_fc1_ = lin(t.reuse_fc1);
  reuse_fc2_ = lin(t.reuse_fc2);
}

std::vector<float> Oracle::preprocess(const triage_image& img, int S) const {
  const int C = static_cast<int>(img.channels), h = static_cast<int>(img.height), w = static_cast<int>(img.width);
  const float max_value = static_cast<float>(img.pixel == TRIAGE_PIXEL_U16 ? cfg_.input.max_value_u16
                                                                           : cfg_.input.max_value_u8);
  const float mean = static_cast<float>(cfg_.input.mean), stdv = static_cast<float>(cfg_.input.std);
  std::vector<float> out(static_cast<size_t>(C) * S * S);
  for (int c = 0; c < C; ++c)
    for (int oy = 0; oy < S; ++oy) {
      int y0, y1;
      float ty;
      source_index(oy, h, S, y0, y1, ty);
      for (int ox = 0; ox < S; ++ox) {
        int x0, x1;
        float tx;
        source_index(ox, w, S, x0, x1, tx);
        const float a00 = sample(img, y0, x0, c, max_value), a01 = sample(img, y0, x1, c, max_value);
        const float a10 = sample(img, y1, x0, c, max_value), a11 = sample(img, y1, x1, c, max_value);
        const float v = (1 - ty) * ((1 - tx) * a00 + tx * a01) + ty * ((1 - tx) * a10 + tx * a11);
        out[(static_cast<size_t>(c) * S + oy) * S + ox] = (v - mean) / stdv;
      }
    }
  return out;
}

std::vector<float> Oracle::conv2d(const std::vector<float>& in, int cin, int s, const std::vector<float>& w,
                                  const std::vector<float>& b, int cout, int k, int stride, int pad, bool relu) {
  const int so = (s + 2 * pad - k) / stride + 1;
  std::vector<float> out(static_cast<size_t>(cout) * so * so);
  for (int co = 0; co < cout; ++co)
    for (int oy = 0; oy < so; ++oy)
      for (int ox = 0; ox < so; ++ox) {
        double acc = b[co];
        for (int ci = 0; ci < cin; ++ci)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
              if (iy < 0 || iy >= s || ix < 0 || ix >= s) continue;  // zero padding
              acc += static_cast<double>(w[((static_cast<size_t>(co) * cin + ci) * k + ky) * k + kx]) *
                     in[(static_cast<size_t>(ci) * s + iy) * s + ix];
            }
        float v = static_cast<float>(acc);
        if (relu && v < 0) v = 0;
        out[(static_cast<size_t>(co) * so + oy) * so + ox] = v;
      }
  return out;
}

std::vector<float> Oracle::stem(const std::vector<float>& img, int s) const {
  const ModelConfig& c = cfg_;
  std::vector<float> a = conv2d(img, c.C, s, stem0_w_, stem0_b_, c.c1, 3, 2, 1, true);
  std::vector<float> b = conv2d(a, c.c1, s / 2, stem1_w_, stem1_b_, c.c2, 3, 2, 1, true);
  std::vector<float> e = conv2d(b, c.c2, s / 4, patch_w_, patch_b_, c.D, c.p, c.p, 0, false);
  // [D, g, g] -> tokens [g*g, D]
  const int g = s / c.P;
  std::vector<float> tok(static_cast<size_t>(g) * g * c.D);
  for (int d = 0; d < c.D; ++d)
    for (int i = 0; i < g * g; ++i) tok[static_cast<size_t>(i) * c.D + d] = e[static_cast<size_t>(d) * g * g + i];
  return tok;
}

std::vector<float> Oracle::linear(const Linear& l, const std::vector<float>& x, int n) {
  std::vector<float> y(static_cast<size_t>(n) * l.out);
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < l.out; ++o) {
      double acc = l.b[o];
      const float* xr = &x[static_cast<size_t>(i) * l.in];
      const float* wr = &l.w[static_cast<size_t>(o) * l.in];
      for (int k = 0; k < l.in; ++k) acc += static_cast<double>(xr[k]) * wr[k];
      y[static_cast<size_t>(i) * l.out + o] = static_cast<float>(acc);
    }
  return y;
}

std::vector<float> Oracle::layer_norm(const std::vector<float>& x, int n, const std::vector<float>& w,
                                      const std::vector<float>& b) const {
  const int D = static_cast<int>(w.size());
  std::vector<float> y(x.size());
  for (int i = 0; i < n; ++i) {
    const float* r = &x[static_cast<size_t>(i) * D];
    double mean = 0, var = 0;
    for (int k = 0; k < D; ++k) mean += r[k];
    mean /= D;
    for (int k = 0; k < D; ++k) var += (r[k] - mean) * (r[k] - mean);
    var /= D;
    const double inv = 1.0 / std::sqrt(var + cfg_.ln_eps);
    for (int k = 0; k < D; ++k) y[static_cast<size_t>(i) * D + k] = static_cast<float>((r[k] - mean) * inv * w[k] + b[k]);
  }
  return y;
}

void Oracle::block(int l, std::vector<float>& x, int n, std::vector<float>* cls_row) const {
  const Block& b = blocks_[l];
  const int D = cfg_.D, H = cfg_.H, hd = cfg_.hd;
  std::vector<float> qkv = linear(b.qkv, layer_norm(x, n, b.ln1_w, b.ln1_b), n);  // [n, 3D]
  std::vector<float> o(static_cast<size_t>(n) * D);
  if (cls_row) cls_row->assign(n - 1, 0.0f);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  std::vector<double> a(n);
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < n; ++i) {
      const float* q = &qkv[static_cast<size_t>(i) * 3 * D + h * hd];
      double mx = -INFINITY;
      for (int j = 0; j < n; ++j) {
        const float* k = &qkv[static_cast<size_t>(j) * 3 * D + D + h * hd];
        double s = 0;
        for (int d = 0; d < hd; ++d) s += static_cast<double>(q[d]) * k[d];
        a[j] = s * scale;
        mx = std::max(mx, a[j]);
      }
      double sum = 0;
      for (int j = 0; j < n; ++j) sum += (a[j] = std::exp(a[j] - mx));
      for (int j = 0; j < n; ++j) a[j] /= sum;
      for (int d = 0; d < hd; ++d) {
        double acc = 0;
        for (int j = 0; j < n; ++j) acc += a[j] * qkv[static_cast<size_t>(j) * 3 * D + 2 * D + h * hd + d];
        o[static_cast<size_t>(i) * D + h * hd + d] = static_cast<float>(acc);
      }
      if (cls_row && i == 0)
        for (int j = 1; j < n; ++j) (*cls_row)[j - 1] += static_cast<float>(a[j] / H);
    }
  std::vector<float> p = linear(b.proj, o, n);
  for (size_t i = 0; i < x.size(); ++i) x[i] += p[i];
  std::vector<float> h1 = linear(b.fc1, layer_norm(x, n, b.ln2_w, b.ln2_b), n);
  for (float& v : h1) v = gelu(v);
  std::vector<float> h2 = linear(b.fc2, h1, n);
  for (size_t i = 0; i < x.size(); ++i) x[i] += h2[i];
}

std::vector<float> Oracle::head_logits(const std::vector<float>& x) const {
  std::vector<float> cls(x.begin(), x.begin() + cfg_.D);
  return linear(head_, layer_norm(cls, 1, norm_w_, norm_b_), 1);
}

Oracle::Coarse Oracle::coarse(const std::vector<float>& img_coarse) const {
  const ModelConfig& c = cfg_;
  const int Gc = c.Gc, D = c.D;
  int n = 1 + Gc;
  Coarse co;
  co.embed = stem(img_coarse, c.Sc);
  co.x0.resize(static_cast<size_t>(n) * D);
  for (int d = 0; d < D; ++d) co.x0[d] = cls_[d] + pos_coarse_[d];
  for (int j = 0; j < Gc; ++j)
    for (int d = 0; d < D; ++d)
      co.x0[static_cast<size_t>(1 + j) * D + d] = co.embed[static_cast<size_t>(j) * D + d] + pos_coarse_[static_cast<size_t>(1 + j) * D + d];
  std::vector<float> x = co.x0, row;
  co.scores.assign(Gc, 0.0f);
  co.dropped.assign(Gc, 0);
  co.xL.assign(x.size(), 0.0f);
  std::vector<int> pos(Gc);  // token position of each patch while it runs
  std::iota(pos.begin(), pos.end(), 1);
  for (int l = 0; l < c.L; ++l) {
    const bool rank = l >= c.L - c.R, skip = c.skips_coarse() && l == c.skip_layer - 1;
    block(l, x, n, rank || skip ? &row : nullptr);
    if (l == 0) co.block0 = x;
    if (rank)
      for (int j = 0; j < Gc; ++j)
        if (!co.dropped[j]) co.scores[j] += row[pos[j] - 1];  // summed in increasing l
    if (skip) {
      // Keep the keep_coarse patches with the largest CLS attention; fuse the rest into one token
      // weighted by it. A dropped patch keeps its features of this layer (z) and its attention (score).
      std::vector<int> ord(Gc);
      std::iota(ord.begin(), ord.end(), 0);
      std::stable_sort(ord.begin(), ord.end(), [&](int a, int b) { return row[a] > row[b]; });
      double wsum = 0;
      for (int r = c.keep_coarse; r < Gc; ++r) {
        co.dropped[ord[r]] = 1;
        wsum += row[ord[r]];
      }
      std::vector<double> fused(D, 0.0);
      for (int j = 0; j < Gc; ++j) {
        co.scores[j] = co.dropped[j] ? row[j] : 0.0f;  // kept patches: the ranking layers' sum
        for (int d = 0; d < D; ++d) co.xL[static_cast<size_t>(1 + j) * D + d] = x[static_cast<size_t>(1 + j) * D + d];
        if (!co.dropped[j]) continue;
        const double wj = wsum > 0 ? row[j] / wsum : 1.0 / (Gc - c.keep_coarse);  // plain mean if no weight
        for (int d = 0; d < D; ++d) fused[d] += wj * x[static_cast<size_t>(1 + j) * D + d];
      }
      std::vector<float> y(static_cast<size_t>(c.keep_coarse + 2) * D);
      std::copy(x.begin(), x.begin() + D, y.begin());
      int t = 1;
      for (int j = 0; j < Gc; ++j)
        if (!co.dropped[j]) {
          std::copy(x.begin() + static_cast<size_t>(1 + j) * D, x.begin() + static_cast<size_t>(2 + j) * D,
                    y.begin() + static_cast<size_t>(t) * D);
          pos[j] = t++;
        }
      for (int d = 0; d < D; ++d) y[static_cast<size_t>(t) * D + d] = static_cast<float>(fused[d]);
      x = std::move(y);
      n = c.keep_coarse + 2;
    }
  }
  // z: the final features of the patches that ran to the end (all without skipping).
  std::copy(x.begin(), x.begin() + D, co.xL.begin());
  for (int j = 0; j < Gc; ++j)
    if (!co.dropped[j])
      std::copy(x.begin() + static_cast<size_t>(pos[j]) * D, x.begin() + static_cast<size_t>(pos[j] + 1) * D,
                co.xL.begin() + static_cast<size_t>(1 + j) * D);
  co.logits = head_logits(x);
  return co;
}

void Oracle::select(const std::vector<float>& scores, const std::vector<int>& dropped, int k, std::vector<int>& sel,
                    std::vector<int>& keep) {
  const int g = static_cast<int>(scores.size());
  std::vector<int> order(g);
  std::iota(order.begin(), order.end(), 0);
  auto dr = [&](int j) { return dropped.empty() ? 0 : dropped[j]; };
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return dr(a) != dr(b) ? dr(a) < dr(b) : scores[a] > scores[b]; });
  sel.assign(order.begin(), order.begin() + k);
  keep.assign(order.begin() + k, order.end());  // rank order: fine() carries the first keep_fine of them
  std::sort(sel.begin(), sel.end());
}

std::vector<float> Oracle::fine(const std::vector<float>& img_full, const Coarse& co, int k) const {
  const ModelConfig& c = cfg_;
  const int D = c.D, P = c.P, Gc = c.Gc, n = c.tokens_fine(k), rs = 2 * P;
  std::vector<int> sel, rest;
  select(co.scores, co.dropped, k, sel, rest);
  // Carried unselected patches (the first in rank order), ascending; the others fused into one token.
  const int carried = c.fine_carried(k);
  std::vector<int> keep(rest.begin(), rest.begin() + carried), fused(rest.begin() + carried, rest.end());
  std::sort(keep.begin(), keep.end());
  std::sort(fused.begin(), fused.end());
  // Feature reuse over every coarse patch: u = fc2(GELU(fc1(LN(z)))).
  std::vector<float> z(co.xL.begin() + D, co.xL.end());
  std::vector<float> u1 = linear(reuse_fc1_, layer_norm(z, Gc, reuse_norm_w_, reuse_norm_b_), Gc);
  for (float& v : u1) v = gelu(v);
  std::vector<float> u = linear(reuse_fc2_, u1, Gc);

  std::vector<float> x(static_cast<size_t>(n) * D);
  for (int d = 0; d < D; ++d) x[d] = cls_[d] + pos_fine_[d];
  int t = 1;
  for (int j : sel) {
    const int cy = j / c.Wc, cx = j % c.Wc;
    std::vector<float> region(static_cast<size_t>(c.C) * rs * rs);
    for (int ch = 0; ch < c.C; ++ch)
      for (int y = 0; y < rs; ++y)
        for (int xx = 0; xx < rs; ++xx)
          region[(static_cast<size_t>(ch) * rs + y) * rs + xx] =
              img_full[(static_cast<size_t>(ch) * c.Sf + rs * cy + y) * c.Sf + rs * cx + xx];
    std::vector<float> f = stem(region, rs);  // [4, D]: f00 f01 f10 f11
    for (int ab = 0; ab < 4; ++ab, ++t) {
      const int pi = 1 + (2 * cy + ab / 2) * c.Wf + (2 * cx + ab % 2);
      for (int d = 0; d < D; ++d)
        x[static_cast<size_t>(t) * D + d] = f[static_cast<size_t>(ab) * D + d] + pos_fine_[static_cast<size_t>(pi) * D + d] +
                                            u[static_cast<size_t>(j) * D + d];
    }
  }
  for (int j : keep) {
    for (int d = 0; d < D; ++d)
      x[static_cast<size_t>(t) * D + d] = co.x0[static_cast<size_t>(1 + j) * D + d] + u[static_cast<size_t>(j) * D + d];
    ++t;
  }
  if (!fused.empty()) {  // the plain mean of the fused patches' tokens
    for (int d = 0; d < D; ++d) {
      double acc = 0;
      for (int j : fused) acc += static_cast<double>(co.x0[static_cast<size_t>(1 + j) * D + d] + u[static_cast<size_t>(j) * D + d]);
      x[static_cast<size_t>(t) * D + d] = static_cast<float>(acc / static_cast<double>(fused.size()));
    }
    ++t;
  }
  for (int l = 0; l < c.L; ++l) block(l, x, n, nullptr);
  return head_logits(x);
}

std::vector<float> Oracle::vit(const std::vector<float>& img_full, std::vector<float>* block0) const {
  const ModelConfig& c = cfg_;
  const int D = c.D, n = 1 + c.Gf;
  std::vector<float> e = conv2d(img_full, c.C, c.Sf, patch_w_, patch_b_, D, c.P, c.P, 0, false);  // [D, Gf]
  std::vector<float> x(static_cast<size_t>(n) * D);
  for (int d = 0; d < D; ++d) x[d] = cls_[d] + pos_fine_[d];
  for (int j = 0; j < c.Gf; ++j)
    for (int d = 0; d < D; ++d)
      x[static_cast<size_t>(1 + j) * D + d] = e[static_cast<size_t>(d) * c.Gf + j] + pos_fine_[static_cast<size_t>(1 + j) * D + d];
  for (int l = 0; l < c.L; ++l) {
    block(l, x, n, nullptr);
    if (l == 0 && block0) *block0 = x;
  }
  return head_logits(x);
}

}  // namespace triage::rt
