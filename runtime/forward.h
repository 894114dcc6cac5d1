// The fast forward passes of the model family on the packed weights, the planned workspace and the
// thread pool. No allocation: every buffer is in the workspace. Batched: the tokens of all images of
// a pass are stacked so each GEMM runs once over all of them (a row never depends on its neighbours,
// so a batch gives exactly the single-image results).
#pragma once

#include "runtime/forward_ops.h"
#include "runtime/model_config.h"
#include "runtime/packed_model.h"
#include "runtime/triage.h"
#include "runtime/workspace.h"

namespace triage::rt {

class Forward {
 public:
  void init(const ModelConfig* cfg, const PackedModel* pm, const Workspace* ws, const Exec& ex) {
    cfg_ = cfg;
    pm_ = pm;
    ws_ = ws;
    ex_ = ex;
  }

  // Per-op timing into p (nullptr: off).
  void set_profile(OpProfile* p) { ex_.profile = p; }

  // cfvit coarse pass over n validated images: logits [n, ncls] in ws.logits, ranking scores in
  // ws.scores, tokens x0 / xc kept for the fine pass.
  void coarse(const triage_image* images, int n);
  // cfvit fine pass over the m escalated images images[esc[i]] (indices into the last coarse batch),
  // re-splitting k patches each: logits [m, ncls] in ws.logits (overwrites the coarse logits).
  void fine(const triage_image* images, const int* esc, int m, int k);
  // vit single pass over n images: logits [n, ncls] in ws.logits.
  void vit(const triage_image* images, int n);

 private:
  // Preprocesses rows [oy0, oy1) of image img at resolution S into out ([S, S, C]).
  void preprocess_rows(const triage_image& img, int S, float* out, int oy0, int oy1, int thread) const;
  // Preprocesses n whole images at resolution S into out (image i at out + i * S*S*C).
  void preprocess(const triage_image* images, const int* idx, int n, int S, float* out) const;
  // Blocks [l0, l1) over `images` stacked sequences of n tokens at x; rank (coarse pass): accumulate
  // ranking scores in the ranking layers and keep the CLS attention rows of block probs_at.
  void blocks(float* x, int images, int n, bool rank, int l0, int l1, int probs_at = -1);
  // Token skipping after block skip_layer - 1 of the coarse pass: picks the kept patches of every image
  // (ws.skip), fuses the others, writes the shorter sequences to ws.xk.
  void skip_tokens(int n);
  // Final norm + head on the CLS rows (x + i * n * D) -> ws.logits.
  void head(const float* x, int images, int n);
  // Top-k selection of coarse image ci's scores into ws.order row i: the k selected ascending, then
  // the carried unselected patches ascending, then the fused ones ascending (docs/model-family.md).
  void select(int i, int ci, int k) const;

  const ModelConfig* cfg_ = nullptr;
  const PackedModel* pm_ = nullptr;
  const Workspace* ws_ = nullptr;
  Exec ex_;
};

}  // namespace triage::rt
