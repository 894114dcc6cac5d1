// Host-side planning of the CUDA engine (plan.h).
#include "runtime/cuda/plan.h"

#include <algorithm>
#include <initializer_list>

#include "kernels/cuda/kernels.h"
#include "runtime/checked.h"

namespace triage::rt::gpu {
namespace {

// Product of the factors, or false on overflow.
bool prod(std::initializer_list<size_t> f, size_t& out) {
  size_t r = 1;
  for (size_t v : f)
    if (!mul_ok(r, v, r)) return false;
  out = r;
  return true;
}

}  // namespace

const char* buf_name(int b) {
  static const char* const names[kBufCount] = {
      "desc",    "ctl",     "flags",     "logits_c", "logits_f",  "esc",        "logits_tmp", "pixels",
      "img_c",   "s1",      "gat",       "emb",      "x0",        "xc",         "cls_probs",  "scores",
      "skip_probs", "pos",  "xk",
      "act",     "act_scale", "qkv",     "attn",     "hid",       "hid_scale",  "rowq",       "img_f",
      "r1",      "fgat",    "femb",      "ract",     "ract_scale", "rhid",      "rhid_scale", "u",
      "xf",      "order"};
  return b >= 0 && b < kBufCount ? names[b] : "?";
}

bool check_model_support(const ModelConfig& c, Error& err) {
  const bool cf = c.arch == Arch::CfVit;
  if (!cuda::attention_supported(c.hd))
    return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: head_dim %d (dim %d / heads %d) is not supported (32 or 64)", c.hd,
                   c.D, c.H);
  if (c.D % 16 != 0) return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: dim %d is not a multiple of 16", c.D);
  if (c.hidden % 16 != 0)
    return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: MLP hidden %d is not a multiple of 16", c.hidden);
  if (cf) {
    if (c.Dr % 16 != 0)
      return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: reuse_hidden %d is not a multiple of 16", c.Dr);
    if ((c.p * c.p * c.c2) % 8 != 0)
      return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: patch row width %d (p*p*c2) is not a multiple of 8",
                     c.p * c.p * c.c2);
    if (c.Gc > 1024) return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: %d coarse patches (at most 1024)", c.Gc);
    if (c.P % 4 != 0 || c.Sc % c.P != 0 || c.Sf != 2 * c.Sc)
      return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: stem geometry (Sc %d, Sf %d, P %d) not of the family", c.Sc,
                     c.Sf, c.P);
  } else {
    if ((c.P * c.P * c.C) % 8 != 0)
      return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: patch row width %d (P*P*C) is not a multiple of 8",
                     c.P * c.P * c.C);
    if (c.Sf % c.P != 0) return err.set(TRIAGE_E_UNSUPPORTED, "CUDA backend: img_full %d is not a multiple of patch %d", c.Sf, c.P);
  }
  return true;
}

bool plan_device(const ModelConfig& c, const PlanOptions& o, DevicePlan& out, Error& err) {
  out = DevicePlan{};
  if (o.max_batch < 1 || o.max_batch > static_cast<int>(TRIAGE_MAX_BATCH))
    return err.set(TRIAGE_E_LIMIT, "max_batch %d outside [1, %u]", o.max_batch, TRIAGE_MAX_BATCH);
  if (o.force > TRIAGE_FORCE_FINE_ALL) return err.set(TRIAGE_E_INVALID_ARGUMENT, "force %u is not a triage_force", o.force);
  const bool cf = c.arch == Arch::CfVit;
  const size_t B = static_cast<size_t>(o.max_batch), D = c.D, C = c.C, ncls = c.ncls();
  out.batch = o.max_batch;
  out.fine = cf && o.force != TRIAGE_FORCE_COARSE;
  out.fine_k = !cf ? 0 : o.force == TRIAGE_FORCE_FINE_ALL ? c.Gc : c.K;
  out.n_coarse = cf ? 1 + c.Gc : 0;
  out.n_fine = cf ? (out.fine ? c.tokens_fine(out.fine_k) : 0) : 1 + c.Gf;
  out.n_max = std::max(out.n_coarse, out.n_fine);
  if (out.fine && static_cast<size_t>(o.max_batch) * out.fine_k > static_cast<size_t>(kMaxGridZ))
    return err.set(TRIAGE_E_LIMIT,
                   "max_batch %d x %d re-split patches exceeds the CUDA grid limit %d (use max_batch <= %d for this "
                   "model and route policy)",
                   o.max_batch, out.fine_k, kMaxGridZ, kMaxGridZ / std::max(out.fine_k, 1));

  size_t* s = out.bytes;
  bool ok = true;
  auto set = [&](int b, std::initializer_list<size_t> f) { ok = ok && prod(f, s[b]); };
  const size_t Nc = out.n_coarse, Nf = out.n_fine, Nmax = out.n_max, Gc = c.Gc, R = c.R, H = c.H;
  const size_t pp = cf ? static_cast<size_t>(c.p) * c.p * c.c2 : static_cast<size_t>(c.P) * c.P * C;
  const size_t rows = B * Nmax;  // no overflow: B <= 4096, Nmax <= 1 + 4 * 4096
  set(kDesc, {B, kImageDescBytes});
  s[kCtl] = kCtlBytes;
  set(kFlags, {B, 4});
  if (cf) set(kLogitsC, {B, ncls, 4});
  set(kLogitsF, {B, ncls, 4});
  set(kEsc, {B, 4});
  if (out.fine) set(kLogitsTmp, {B, ncls, 4});
  set(kPixels, {B, o.max_image_bytes});
  if (cf) {
    const size_t Sc = c.Sc, h1 = c.Sc / 2;
    set(kImgC, {B, Sc, Sc, C, 4});
    set(kS1, {B, h1, h1, static_cast<size_t>(c.c1), 4});
    set(kGat, {B, Gc, pp, 2});
    set(kEmb, {B, Gc, D, 4});
    set(kX0, {B, Nc, D, 4});
    set(kXc, {B, Nc, D, 4});
    set(kClsProbs, {R, B, H, Nc, 4});
    set(kScores, {B, Gc, 4});
    if (c.skips_coarse()) {
      set(kSkipProbs, {B, H, Nc, 4});
      set(kPos, {B, Gc, 4});
      set(kXk, {B, static_cast<size_t>(c.keep_coarse) + 2, D, 4});
    }
  }
  set(kAct, {rows, D, 2});  // bf16 (2 bytes) or int8 activations
  set(kActScale, {rows, 4});
  set(kQkv, {rows, 3 * D, 4});
  set(kAttn, {rows, D, 4});
  set(kHid, {rows, static_cast<size_t>(c.hidden), 2});
  set(kHidScale, {rows, 4});
  if (o.rowq_staging) set(kRowq, {rows, static_cast<size_t>(std::max(c.hidden, cf ? c.Dr : 0)), 4});
  const size_t Sf = c.Sf;
  if (cf && out.fine) {
    const size_t K = out.fine_k, P = c.P, Dr = c.Dr;
    set(kImgF, {B, Sf, Sf, C, 4});
    set(kR1, {B, K, P, P, static_cast<size_t>(c.c1), 4});
    set(kFgat, {B, K, 4, pp, 2});
    set(kFemb, {B, K, 4, D, 4});
    set(kRact, {B, Gc, D, 2});
    set(kRactScale, {B, Gc, 4});
    set(kRhid, {B, Gc, Dr, 2});
    set(kRhidScale, {B, Gc, 4});
    set(kU, {B, Gc, D, 4});
    set(kXf, {B, Nf, D, 4});
    set(kOrder, {B, Gc, 4});
  } else if (!cf) {
    const size_t Gf = c.Gf;
    set(kImgF, {B, Sf, Sf, C, 4});
    set(kFgat, {B, Gf, pp, 2});
    set(kFemb, {B, Gf, D, 4});
    set(kXf, {B, Nf, D, 4});
  }
  if (!ok) return err.set(TRIAGE_E_LIMIT, "device buffer size overflows");
  size_t at = 0;
  for (int b = 0; b < kBufCount; ++b) {
    if (!align_up_ok(at, kDeviceAlign, at)) return err.set(TRIAGE_E_LIMIT, "device plan size overflows");
    out.offset[b] = at;
    if (!add_ok(at, s[b], at)) return err.set(TRIAGE_E_LIMIT, "device plan size overflows");
  }
  if (!align_up_ok(at, kDeviceAlign, out.total)) return err.set(TRIAGE_E_LIMIT, "device plan size overflows");
  return true;
}

std::vector<int> batch_buckets(int max_batch) {
  std::vector<int> b;
  for (int v = 1; v < max_batch; v *= 2) b.push_back(v);
  if (max_batch >= 1) b.push_back(max_batch);
  return b;
}

int bucket_for(const std::vector<int>& buckets, int n) {
  for (int b : buckets)
    if (b >= n) return b;
  return -1;
}

}  // namespace triage::rt::gpu
