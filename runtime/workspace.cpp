// Workspace sizing. Lifetimes are in pass steps:
//   0 preprocess coarse, 1 coarse stem, 2 coarse blocks + head, 3 preprocess full (bands),
//   4 fine stem (regions) / vit patch embedding, 5 feature reuse, 6 fine (or vit) blocks + head.
#include "runtime/workspace.h"

#include <algorithm>
#include <array>
#include <initializer_list>

#include "runtime/checked.h"

namespace triage::rt {
namespace {

enum Buf {
  kImgC, kS1, kS2, kGat, kEmb, kX0, kXc, kClsProbs, kScores, kAct, kActScale, kQkv, kAttn, kHid, kHidScale,
  kLogits, kSkip, kXk, kImgF, kR1, kR2, kFgat, kFemb, kRact, kRactScale, kRhid, kRhidScale, kU, kXf, kOrder, kBands,
  kScratch, kBufCount
};

struct Sizer {
  bool ok = true;
  // Product of the factors times elem bytes, overflow-checked (0 when any factor is 0).
  size_t bytes(std::initializer_list<size_t> factors, size_t elem = sizeof(float)) {
    size_t r = elem;
    for (size_t f : factors) ok = ok && mul_ok(r, f, r);
    return ok ? r : 0;
  }
};

static_assert(kBufCount <= kMaxArenaBuffers, "the arena planner's fixed arrays hold every buffer");
using Requests = std::array<BufferReq, kBufCount>;

void build_requests(const ModelConfig& c, const WorkspaceShape& s, const WorkspacePlan& p, Requests& q, Sizer& z) {
  q.fill(BufferReq{});
  const size_t B = s.batch, D = c.D, C = c.C, Nmax = p.n_max, Nf = p.n_fine;
  const bool fine = s.fine_k >= 0;
  const int last_block = fine ? 6 : 2;
  auto set = [&](Buf b, size_t bytes, int first, int last) { q[b] = BufferReq{bytes, first, last}; };
  if (s.coarse) {
    const size_t Sc = c.Sc, Gc = c.Gc, Nc = 1 + Gc;
    set(kImgC, z.bytes({B, Sc, Sc, C}), 0, 1);
    set(kS1, z.bytes({B, Sc / 2, Sc / 2, size_t(c.c1)}), 1, 1);
    set(kS2, z.bytes({B, Sc / 4, Sc / 4, size_t(c.c2)}), 1, 1);
    set(kGat, z.bytes({B, Gc, size_t(c.p) * c.p * c.c2}), 1, 1);
    set(kEmb, z.bytes({B, Gc, D}), 1, 2);
    set(kX0, z.bytes({B, Nc, D}), 2, last_block);
    set(kXc, z.bytes({B, Nc, D}), 2, fine ? 5 : 2);
    set(kClsProbs, z.bytes({B, size_t(c.H), Nc}), 2, 2);
    set(kScores, z.bytes({B, Gc}), 2, fine ? 3 : 2);
    set(kOrder, z.bytes({B, Gc}, sizeof(int32_t)), 2, last_block);
    if (c.skips_coarse()) {
      set(kSkip, z.bytes({B, Gc}, sizeof(int32_t)), 2, fine ? 3 : 2);
      set(kXk, z.bytes({B, size_t(c.keep_coarse) + 2, D}), 2, 2);
    }
  }
  const int first_block = s.coarse ? 2 : 6;
  set(kAct, z.bytes({B, Nmax, D}), first_block, last_block);
  set(kActScale, z.bytes({B, Nmax}), first_block, last_block);
  set(kQkv, z.bytes({B, Nmax, 3 * D}), first_block, last_block);
  set(kAttn, z.bytes({B, Nmax, D}), first_block, last_block);
  set(kHid, z.bytes({B, Nmax, size_t(c.hidden)}), first_block, last_block);
  set(kHidScale, z.bytes({B, Nmax}), first_block, last_block);
  set(kLogits, z.bytes({B, size_t(c.ncls())}), first_block, last_block);
  if (fine) {
    const size_t Sf = c.Sf;
    set(kImgF, z.bytes({B, Sf, Sf, C}), 3, 4);
    set(kXf, z.bytes({B, Nf, D}), 6, 6);
    if (s.coarse) {
      const size_t K = s.fine_k, P = c.P, Gc = c.Gc, pp = size_t(c.p) * c.p * c.c2;
      set(kR1, z.bytes({B, K, P, P, size_t(c.c1)}), 4, 4);
      set(kR2, z.bytes({B, K, P / 2, P / 2, size_t(c.c2)}), 4, 4);
      set(kFgat, z.bytes({B, K, 4, pp}), 4, 4);
      set(kFemb, z.bytes({B, K, 4, D}), 4, 6);
      set(kRact, z.bytes({B, Gc, D}), 5, 5);
      set(kRactScale, z.bytes({B, Gc}), 5, 5);
      set(kRhid, z.bytes({B, Gc, size_t(c.Dr)}), 5, 5);
      set(kRhidScale, z.bytes({B, Gc}), 5, 5);
      set(kU, z.bytes({B, Gc, D}), 5, 6);
      set(kBands, z.bytes({B, size_t(c.Wc)}, sizeof(int32_t)), 3, 3);
    } else {
      const size_t Gf = c.Gf, PP = size_t(c.P) * c.P * C;
      set(kFgat, z.bytes({B, Gf, PP}), 4, 4);
      set(kFemb, z.bytes({B, Gf, D}), 4, 6);
    }
  }
  set(kScratch, z.bytes({size_t(s.threads), p.scratch_floats}), 0, 6);
}

}  // namespace

bool plan_workspace(const ModelConfig& c, const PackedModel& pm, kernels::Isa isa, const WorkspaceShape& s,
                    WorkspacePlan& out, Error& err) {
  namespace k = triage::kernels;
  out = WorkspacePlan{};
  const int Nc = s.coarse ? c.tokens_coarse() : 0;
  out.n_fine = s.fine_k >= 0 ? c.tokens_fine(s.fine_k) : 0;
  out.n_max = std::max(Nc, out.n_fine);
  // Per-thread scratch: the largest need of any kernel call a thread makes.
  size_t sc = pm.gemm_scratch_floats();
  const int side = static_cast<int>(s.max_image_side);
  if (s.coarse) {
    sc = std::max(sc, k::attention_scratch_floats(isa, Nc, c.hd));
    sc = std::max(sc, k::resize_scratch_floats(isa, side, c.C, c.Sc));
  }
  if (s.fine_k >= 0) {
    sc = std::max(sc, k::attention_scratch_floats(isa, out.n_fine, c.hd));
    sc = std::max(sc, k::resize_scratch_floats(isa, side, c.C, c.Sf));
  }
  if (!align_up_ok(sc, size_t(16), out.scratch_floats)) return err.set(TRIAGE_E_LIMIT, "scratch size overflows");
  Sizer z;
  Requests reqs;
  build_requests(c, s, out, reqs, z);
  if (!z.ok || !plan_arena(reqs, out.arena))
    return err.set(TRIAGE_E_LIMIT, "activation arena size overflows (batch %d, threads %d)", s.batch, s.threads);
  return true;
}

void bind_workspace(const ModelConfig& c, const WorkspaceShape& s, const WorkspacePlan& p, unsigned char* arena,
                    Workspace& ws) {
  Sizer z;
  Requests reqs;
  build_requests(c, s, p, reqs, z);
  auto at = [&](Buf b) -> float* {
    return reqs[b].bytes ? reinterpret_cast<float*>(arena + p.arena.offsets[b]) : nullptr;
  };
  ws = Workspace{};
  ws.img_c = at(kImgC);
  ws.s1 = at(kS1);
  ws.s2 = at(kS2);
  ws.gat = at(kGat);
  ws.emb = at(kEmb);
  ws.x0 = at(kX0);
  ws.xc = at(kXc);
  ws.cls_probs = at(kClsProbs);
  ws.scores = at(kScores);
  ws.skip = reinterpret_cast<int32_t*>(at(kSkip));
  ws.xk = at(kXk);
  ws.act = at(kAct);
  ws.act_scale = at(kActScale);
  ws.qkv = at(kQkv);
  ws.attn = at(kAttn);
  ws.hid = at(kHid);
  ws.hid_scale = at(kHidScale);
  ws.logits = at(kLogits);
  ws.img_f = at(kImgF);
  ws.r1 = at(kR1);
  ws.r2 = at(kR2);
  ws.fgat = at(kFgat);
  ws.femb = at(kFemb);
  ws.ract = at(kRact);
  ws.ract_scale = at(kRactScale);
  ws.rhid = at(kRhid);
  ws.rhid_scale = at(kRhidScale);
  ws.u = at(kU);
  ws.xf = at(kXf);
  ws.order = reinterpret_cast<int32_t*>(at(kOrder));
  ws.bands = reinterpret_cast<int32_t*>(at(kBands));
  ws.scratch = at(kScratch);
  ws.scratch_floats = p.scratch_floats;
}

}  // namespace triage::rt
