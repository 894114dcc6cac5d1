// Every activation buffer of the forward passes, sized for the worst case (WorkspaceShape::batch images,
// every one escalated: the engine plans min(max_batch, 8), the chunk a batch runs in) and placed by
// liveness in one arena (arena_plan.h). Built at load; classify only reads the pointers.
#pragma once

#include <cstdint>

#include "runtime/arena_plan.h"
#include "runtime/error.h"
#include "runtime/model_config.h"
#include "runtime/packed_model.h"

namespace triage::rt {

struct WorkspaceShape {
  int batch = 1;     // max images per call
  int threads = 1;   // per-thread scratch slots
  bool coarse = true;  // cfvit coarse pass (false for vit)
  int fine_k = 0;      // re-split patches of the fine pass (cfvit), -1: no fine pass ever
  size_t max_image_side = TRIAGE_MAX_IMAGE_SIDE;  // widest input row the resize scratch must hold
};

// Pointers into the arena; unused buffers are null. Row counts: Nc = 1 + Gc, Nf = tokens of the fine
// (or vit) pass, Nmax = max(Nc, Nf); B = batch.
struct Workspace {
  // coarse pass
  float* img_c = nullptr;    // [B, Sc, Sc, C] preprocessed coarse image, NHWC
  float* s1 = nullptr;       // [B, Sc/2, Sc/2, c1] stem conv 0
  float* s2 = nullptr;       // [B, Sc/4, Sc/4, c2] stem conv 1
  float* gat = nullptr;      // [B*Gc, p*p*c2] gathered patches
  float* emb = nullptr;      // [B*Gc, D] patch projection
  float* x0 = nullptr;       // [B, Nc, D] coarse input tokens (kept tokens of the fine pass reuse them)
  float* xc = nullptr;       // [B, Nc, D] coarse residual stream (its final patch rows feed reuse)
  float* cls_probs = nullptr;  // [B, H, Nc] per-head CLS attention rows of the current layer
  float* scores = nullptr;   // [B, Gc] ranking scores (a patch dropped by token skipping: its skip attention)
  int32_t* skip = nullptr;   // [B, Gc] token skipping: position of each patch in xk (1..keep_coarse), 0 = dropped
  float* xk = nullptr;       // [B, keep_coarse + 2, D] coarse residual stream after the skip
  // shared by the block loops of both passes (sized for Nmax tokens)
  float* act = nullptr;      // [B*Nmax, D] LayerNorm output (f32) or int8 activations
  float* act_scale = nullptr;  // [B*Nmax] per-token scales of act
  float* qkv = nullptr;      // [B*Nmax, 3D]
  float* attn = nullptr;     // [B*Nmax, D] attention output (f32)
  float* hid = nullptr;      // [B*Nmax, hidden] MLP hidden (f32 or int8)
  float* hid_scale = nullptr;  // [B*Nmax]
  float* logits = nullptr;   // [B, ncls]
  // fine pass (cfvit) / the single vit pass
  float* img_f = nullptr;    // [B, Sf, Sf, C] preprocessed full image (cfvit: selected row bands only)
  float* r1 = nullptr;       // [B*K, P, P, c1] region stem conv 0
  float* r2 = nullptr;       // [B*K, P/2, P/2, c2]
  float* fgat = nullptr;     // [B*K*4, p*p*c2] (vit: [B*Gf, P*P*C])
  float* femb = nullptr;     // [B*K*4, D] (vit: [B*Gf, D])
  float* ract = nullptr;     // [B*Gc, D] reuse LayerNorm output (f32 or int8)
  float* ract_scale = nullptr;  // [B*Gc]
  float* rhid = nullptr;     // [B*Gc, Dr] reuse hidden (f32 or int8)
  float* rhid_scale = nullptr;  // [B*Gc]
  float* u = nullptr;        // [B*Gc, D] reuse features
  float* xf = nullptr;       // [B, Nf, D] fine residual stream
  int32_t* order = nullptr;  // [B, Gc] selected, carried, fused patches (each ascending); coarse skip: scratch
  int32_t* bands = nullptr;  // [B, Wc] row bands of the full image to preprocess
  // per-thread scratch
  float* scratch = nullptr;  // [threads, scratch_floats]
  size_t scratch_floats = 0;
};

struct WorkspacePlan {
  ArenaPlan arena;
  size_t scratch_floats = 0;
  int n_fine = 0;  // Nf
  int n_max = 0;   // Nmax
};

// Sizes and places every buffer. false + err (LIMIT on overflow).
bool plan_workspace(const ModelConfig& cfg, const PackedModel& pm, kernels::Isa isa, const WorkspaceShape& shape,
                    WorkspacePlan& out, Error& err);
// Points ws into arena (at least plan.arena.total bytes, 64-byte aligned).
void bind_workspace(const ModelConfig& cfg, const WorkspaceShape& shape, const WorkspacePlan& plan,
                    unsigned char* arena, Workspace& ws);

}  // namespace triage::rt
