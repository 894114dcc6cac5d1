// The conversion report: what was converted and how far the stored weights are from the float ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weights_format/trw.h"

namespace triage::convert {

struct TensorReport {
  std::string name;
  std::vector<uint64_t> shape;
  trw::DType dtype = trw::DType::F32;
  uint64_t numel = 0;
  uint64_t bytes = 0;  // stored payload, including q8 scales
  bool lossy = false;  // quantised or cast: max_abs_err / snr_db are meaningful
  double max_abs_err = 0;
  double snr_db = 0;  // +inf when exact
};

struct ConvertReport {
  std::string model_name;
  std::string arch;
  std::string storage;  // f32 | f16 | bf16 | q8
  std::string checkpoint_path, config_path, output_path;
  std::string source_sha256, config_sha256;
  uint64_t source_tensors = 0;  // tensors read from the checkpoint
  uint64_t ignored_tensors = 0;  // num_batches_tracked
  std::vector<TensorReport> tensors;
  uint64_t params = 0;
  uint64_t tensor_bytes = 0;
  uint64_t file_size = 0;
  double min_snr_db = 0;  // over lossy tensors; +inf when none
};

// Human-readable table (default output of `triage convert`).
std::string report_text(const ConvertReport& r);
// One JSON object (`triage convert --json`); an exact tensor's snr_db is null.
std::string report_json(const ConvertReport& r);

}  // namespace triage::convert
