// A model-like .trw built in the test: a small cfvit (the tensor names and metadata keys of
// docs/model-family.md, ~120 tensors), linear/conv weights q8, the rest f32, random values.
#pragma once

#include <cstdint>
#include <vector>

#include "weights_format/trw.h"

namespace triage::trw::test {

// Adds every metadata key of docs/model-family.md (".trw metadata keys") for the given dims.
void add_model_metadata(Writer& w, int64_t dim, int64_t depth);

// Serialised bytes of the model-like file; `depth` 8 gives 115 tensors.
std::vector<uint8_t> model_like_file(uint32_t seed, int64_t depth = 8, int64_t dim = 32);

}  // namespace triage::trw::test
