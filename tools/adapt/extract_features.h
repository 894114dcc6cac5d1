// The features `triage adapt` fits a head on: for each labelled image, the final-norm CLS token of the
// coarse pass and of the fine pass (triage_get_features), computed by the model's own kernels with the
// fine pass forced (K = arch.topk re-split patches, as an escalated image gets). Two rows per image, in
// data order (coarse row first); a vit model gives one row (its single pass).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tools/cli/dataset.h"

namespace triage::adapt {

struct FeatureSet {
  int dim = 0;              // D
  int rows_per_image = 2;   // 2 (cfvit: coarse, fine), 1 (vit)
  std::vector<float> x;     // [images * rows_per_image, D]
  std::string data_sha256;  // of the sorted "sha256(file) label" lines (as triage calibrate hashes data)
};

struct ExtractOptions {
  uint32_t threads = 1;
  uint32_t batch = 8;
  std::function<void(size_t, size_t)> progress;
};

// model_bytes: the .trw file. Refuses (false + err naming the file) an image that cannot be read or does
// not fit the model's input channels under the channel rule (tools/cli/image_io.h).
bool extract_features(std::span<const uint8_t> model_bytes, const std::vector<cli::LabelledFile>& data,
                      const ExtractOptions& opt, FeatureSet& out, std::string& err);

}  // namespace triage::adapt
