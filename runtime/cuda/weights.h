// The model's weights laid out for the CUDA kernels, packed on the host at load into one blob that is
// uploaded with a single copy (offsets below are byte offsets into it, 256-byte aligned):
// - linear layers: q8 stored -> int8 [n, k] rows + f32 scales [n] (the file's values, unchanged);
//   f32 / f16 / bf16 stored -> bf16 [n, k] (round to nearest even); bias f32 [n];
// - stem convolutions: f32 packed as the CPU does ([3][3][cin][round_up(cout, 8)]), bias f32;
// - patch projection: always bf16 [D, p*p*c2] in the (ky, kx, c) order the fused gather writes
//   (q8 stored -> dequantised first, as the CPU engine does);
// - vectors (LayerNorm, cls, positions): f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/error.h"
#include "runtime/model_config.h"
#include "runtime/model_tensors.h"

namespace triage::rt::gpu {

inline constexpr size_t kNone = SIZE_MAX;

struct DevLinear {
  bool q8 = false;
  size_t w = kNone, scale = kNone, bias = kNone;
  int n = 0, k = 0;
};

struct DevBlock {
  size_t ln1_w = kNone, ln1_b = kNone, ln2_w = kNone, ln2_b = kNone;
  DevLinear qkv, proj, fc1, fc2;
};

struct DevWeights {
  size_t stem0_w = kNone, stem0_b = kNone, stem1_w = kNone, stem1_b = kNone;  // cfvit
  DevLinear patch;                                                            // always bf16
  size_t cls = kNone, pos_coarse = kNone, pos_fine = kNone;
  std::vector<DevBlock> blocks;
  size_t norm_w = kNone, norm_b = kNone;
  DevLinear head;
  size_t reuse_norm_w = kNone, reuse_norm_b = kNone;  // cfvit
  DevLinear reuse_fc1, reuse_fc2;                     // cfvit
  size_t bytes = 0;                                   // blob size
};

// Packs every tensor into blob (resized to out.bytes). false + err (LIMIT / NOMEM).
bool pack_device_weights(const ModelConfig& cfg, const ModelTensors& t, DevWeights& out, std::vector<uint8_t>& blob,
                         Error& err);

}  // namespace triage::rt::gpu
