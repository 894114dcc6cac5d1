// The model's weights laid out for one ISA's kernels, in one block taken at load: GEMM weights
// packed (q8 kept int8 for the fast path, f16/bf16 widened to f32), stem convolutions and the patch
// projection always f32 (q8 dequantised), vectors (LayerNorm, biases, positions) as f32.
#pragma once

#include <vector>

#include "kernels/cpu/kernels.h"
#include "runtime/error.h"
#include "runtime/model_config.h"
#include "runtime/model_tensors.h"
#include "weights_format/fallible_array.h"

namespace triage::rt {

struct PackedLinear {
  bool q8 = false;  // true: gemm_q8 on int8 per-token activations; false: gemm_f32
  kernels::PackedF32 f;
  kernels::PackedQ8 q;
  const float* bias = nullptr;
  int n = 0, k = 0;
  int col_block() const { return q8 ? kernels::gemm_q8_col_block(q) : kernels::gemm_f32_col_block(f); }
  size_t scratch_floats() const { return q8 ? kernels::gemm_q8_scratch_floats(q) : kernels::gemm_f32_scratch_floats(f); }
};

struct PackedBlock {
  const float *ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
  PackedLinear qkv, proj, fc1, fc2;
};

struct PackedModel {
  kernels::Isa isa = kernels::Isa::Scalar;
  const float *stem0_w = nullptr, *stem0_b = nullptr, *stem1_w = nullptr, *stem1_b = nullptr;  // cfvit
  PackedLinear patch;  // f32, K order (ky, kx, c) as patch_gather_f32 produces
  const float *cls = nullptr, *pos_coarse = nullptr, *pos_fine = nullptr;
  FallibleArray<PackedBlock> blocks;
  const float *norm_w = nullptr, *norm_b = nullptr;
  PackedLinear head;
  const float *reuse_norm_w = nullptr, *reuse_norm_b = nullptr;  // cfvit
  PackedLinear reuse_fc1, reuse_fc2;                             // cfvit
  struct alignas(64) Line {
    unsigned char b[64];
  };
  FallibleArray<Line> storage;  // the packed weights: in the caller's weights memory or on the heap
  // Largest per-call GEMM scratch (floats) over every linear.
  size_t gemm_scratch_floats() const;
};

// Packs every tensor of t for isa into out: the blocks' table and the packed weights (one block) from
// `keep`, the one conversion buffer the packing reuses from `temps` (nullptr: the heap). false + err
// (NOMEM, LIMIT).
bool pack_model(const ModelConfig& cfg, const ModelTensors& t, kernels::Isa isa, PackedModel& out, Error& err,
                Region* temps, Region* keep);

}  // namespace triage::rt
