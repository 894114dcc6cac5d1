// Checkpoint (+ config.json) -> .trw: the converter's entry point.
//   1. parse config.json and the safetensors checkpoint (single or sharded), validating both;
//   2. check the tensor set against the architecture (all missing/unexpected names in one error);
//   3. fold each stem BatchNorm into its conv (cfvit), store linear/conv weights (`*.weight` of rank 2
//      or 4) as the requested type, everything else (biases, LayerNorm, tokens, positions) as f32;
//   4. write metadata (metadata.h), re-read the serialised file with trw::File, write it atomically.
#pragma once

#include <string>
#include <string_view>

#include "tools/convert/checkpoint.h"
#include "tools/convert/error.h"
#include "tools/convert/model_config.h"
#include "tools/convert/report.h"
#include "weights_format/trw.h"

namespace triage::convert {

struct ConvertOptions {
  std::string checkpoint;  // .safetensors, index .json, or a directory holding one
  std::string config;      // empty: config.json beside the checkpoint (in the directory)
  trw::DType dtype = trw::DType::Q8;
  std::string output;  // must not name any input file
};

bool convert_checkpoint(const ConvertOptions& opt, ConvertReport& report, Error& err);

// The in-memory part (no files): fills the writer with metadata and tensors and the report's tensor
// rows and totals (not file_size / paths).
bool build_trw(const ModelConfig& cfg, const Checkpoint& ckpt, trw::DType dtype, const std::string& config_sha256,
               trw::Writer& writer, ConvertReport& report, Error& err);

// "f32" | "f16" | "bf16" | "q8".
bool parse_storage_dtype(std::string_view s, trw::DType& out);
const char* storage_dtype_name(trw::DType t);

std::string default_config_path(const std::string& checkpoint);

}  // namespace triage::convert
