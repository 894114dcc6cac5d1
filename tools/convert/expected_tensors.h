// The tensor set a checkpoint of each architecture must hold (docs/model-family.md "Tensors in the
// checkpoint"), with shapes computed from the hyperparameters, and the check of a checkpoint against it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/convert/checkpoint.h"
#include "tools/convert/error.h"
#include "tools/convert/model_config.h"

namespace triage::convert {

struct ExpectedTensor {
  std::string name;
  std::vector<uint64_t> shape;
};

// In file order: stem, patch, tokens, blocks, norm, head, reuse (cfvit); timm order for vit.
std::vector<ExpectedTensor> expected_checkpoint_tensors(const ModelConfig& cfg);

// Tensors named *.num_batches_tracked are bookkeeping, ignored whatever their dtype.
bool is_ignored_tensor(const std::string& name);

// Every expected tensor present with its shape and a float dtype, nothing unexpected. The error lists
// ALL missing, unexpected and mis-shaped tensors in one line (Errc::Tensors), or the first tensor
// with an integer dtype (Errc::Unsupported).
bool check_tensor_set(const ModelConfig& cfg, const Checkpoint& ckpt, Error& err);

}  // namespace triage::convert
