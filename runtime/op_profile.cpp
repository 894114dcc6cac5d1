#include "runtime/op_profile.h"

namespace triage::rt {

const char* op_name(Op op) {
  static const char* const kNames[kOpCount] = {"preprocess", "stem", "patch_proj", "layernorm_quant", "qkv", "attention",
                                               "proj", "fc1_gelu", "fc2", "head", "reuse", "route"};
  const int i = static_cast<int>(op);
  return i >= 0 && i < kOpCount ? kNames[i] : "?";
}

}  // namespace triage::rt
