// Binds every tensor the model family needs (docs/model-family.md "Tensors") to its view in a parsed
// .trw file, checking presence, dtype and shape; and converts any stored dtype to f32.
#pragma once

#include <vector>

#include "runtime/error.h"
#include "runtime/model_config.h"
#include "weights_format/fallible_array.h"
#include "weights_format/trw.h"

namespace triage::rt {

using Tensor = const trw::TensorView*;

struct LinearTensors {
  Tensor w = nullptr;  // [out, in]
  Tensor b = nullptr;  // [out]
};

struct BlockTensors {
  Tensor ln1_w = nullptr, ln1_b = nullptr, ln2_w = nullptr, ln2_b = nullptr;
  LinearTensors qkv, proj, fc1, fc2;
};

struct ModelTensors {
  // cfvit: stem0 [c1,C,3,3], stem1 [c2,c1,3,3] (BN folded, with biases), patch [D,c2,p,p].
  // vit: patch = patch_embed.proj [D,C,P,P]; stem0/stem1 null.
  Tensor stem0_w = nullptr, stem0_b = nullptr, stem1_w = nullptr, stem1_b = nullptr;
  Tensor patch_w = nullptr, patch_b = nullptr;
  Tensor cls = nullptr;         // [1,1,D]
  Tensor pos_coarse = nullptr;  // [1,1+Gc,D] (cfvit)
  Tensor pos_fine = nullptr;    // [1,1+Gf,D] (vit: pos_embed)
  FallibleArray<BlockTensors> blocks;
  Tensor norm_w = nullptr, norm_b = nullptr;
  LinearTensors head;
  Tensor reuse_norm_w = nullptr, reuse_norm_b = nullptr;  // cfvit
  LinearTensors reuse_fc1, reuse_fc2;                     // cfvit
};

// The blocks' table comes from `from` (nullptr: the heap).
bool bind_tensors(const trw::File& file, const ModelConfig& cfg, ModelTensors& out, Error& err, Region* from = nullptr);

// Writes t's numel values as f32 (f16/bf16 widened, q8 dequantised with its per-row scales).
void tensor_to_f32(const trw::TensorView& t, float* out);
// As a std::vector, for the scalar oracle and the CUDA weights (which allocate with the standard library).
std::vector<float> tensor_to_f32(const trw::TensorView& t);

}  // namespace triage::rt
