// The oracle: a plain scalar implementation of the model family (docs/model-family.md), written for
// clarity and checked against the PyTorch goldens. Every fast path is tested against it. It allocates
// freely and is not used on the classify path.
#pragma once

#include <vector>

#include "runtime/error.h"
#include "runtime/model_config.h"
#include "runtime/model_tensors.h"
#include "runtime/triage.h"

namespace triage::rt {

class Oracle {
 public:
  // Everything the coarse pass produces (the names of the goldens in brackets).
  struct Coarse {
    std::vector<float> embed;   // [Gc, D] patch projection output (coarse_embed)
    std::vector<float> x0;      // [1+Gc, D] input tokens: [cls; embed] + pos_coarse
    std::vector<float> block0;  // [1+Gc, D] after block 0 (coarse_block0)
    std::vector<float> xL;      // [1+Gc, D] after the last block (a patch dropped by token skipping: at its skip)
    std::vector<float> logits;  // [ncls] (coarse_logits)
    std::vector<float> scores;  // [Gc] ranking scores (rank_scores); a dropped patch: its skip attention
    std::vector<int> dropped;   // [Gc] 1 where token skipping fused the patch away (all 0 without skipping)
  };

  // Copies every weight to f32 (dequantising f16/bf16/q8).
  void init(const ModelConfig& cfg, const ModelTensors& t);

  // Preprocessing: value map, bilinear resize to S x S, normalise. Output planar [C, S, S].
  // The image must already be validated (the oracle does not check arguments).
  std::vector<float> preprocess(const triage_image& img, int S) const;

  Coarse coarse(const std::vector<float>& img_coarse) const;
  // Top-k in rank order (kept patches by score, then dropped ones by score; ties to the smaller index),
  // ascending; keep = the rest ascending. dropped may be empty (no skipping).
  static void select(const std::vector<float>& scores, const std::vector<int>& dropped, int k, std::vector<int>& sel,
                     std::vector<int>& keep);
  // The fine pass re-splitting k coarse patches (k = Gc: over all tokens). Returns fine logits.
  std::vector<float> fine(const std::vector<float>& img_full, const Coarse& co, int k) const;
  // The plain vit's single pass at full resolution. block0 (optional) receives the tokens after block 0.
  std::vector<float> vit(const std::vector<float>& img_full, std::vector<float>* block0 = nullptr) const;

  // Building blocks, public for tests of single layers.
  // conv2d, planar: in [cin, s, s], w [cout, cin, k, k], b [cout]; zero padding; optional ReLU.
  static std::vector<float> conv2d(const std::vector<float>& in, int cin, int s, const std::vector<float>& w,
                                   const std::vector<float>& b, int cout, int k, int stride, int pad, bool relu);
  // x [n, D] through block l; cls_row (optional) receives the head-averaged CLS attention row [n-1].
  void block(int l, std::vector<float>& x, int n, std::vector<float>* cls_row) const;
  static float gelu(float x);

 private:
  struct Linear {
    std::vector<float> w, b;
    int out = 0, in = 0;
  };
  struct Block {
    std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
    Linear qkv, proj, fc1, fc2;
  };
  // y[n, out] = x[n, in] W^T + b
  static std::vector<float> linear(const Linear& l, const std::vector<float>& x, int n);
  std::vector<float> layer_norm(const std::vector<float>& x, int n, const std::vector<float>& w,
                                const std::vector<float>& b) const;
  // stem (cfvit): image [C, s, s] -> tokens [(s/P)^2, D] (row-major over the output grid).
  std::vector<float> stem(const std::vector<float>& img, int s) const;
  std::vector<float> head_logits(const std::vector<float>& x) const;  // from the CLS row of x

  ModelConfig cfg_;
  std::vector<float> stem0_w_, stem0_b_, stem1_w_, stem1_b_, patch_w_, patch_b_, cls_, pos_coarse_, pos_fine_;
  std::vector<Block> blocks_;
  std::vector<float> norm_w_, norm_b_;
  Linear head_;
  std::vector<float> reuse_norm_w_, reuse_norm_b_;
  Linear reuse_fc1_, reuse_fc2_;
};

}  // namespace triage::rt
