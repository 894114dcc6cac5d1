// Writes the model `triage adapt` produces: the base file's tensors and metadata, with a new head
// (head.weight / head.bias in the base head's storage types: q8 rows re-quantised, f16 / bf16 cast),
// the new class list and good class, the router reset to uncalibrated (thresholds fitted for the old
// head carry no guarantee for the new one: run triage calibrate), source.sha256 naming the derived
// weights, and the adaptation's provenance (adapt.provenance, a JSON object). Atomic; never over the
// input.
#pragma once

#include <string>
#include <vector>

#include "tools/adapt/softmax_regression.h"
#include "weights_format/trw.h"

namespace triage::adapt {

struct AdaptedModel {
  std::vector<std::string> labels;
  std::string good_label;  // "" for no good class
  Head head;               // [labels.size(), D] raw-feature weights and biases
  std::string provenance_json;
};

// The base's head as the engine reads it (q8 dequantised, 16-bit widened): weight [ncls, D], bias [ncls].
bool read_head(const trw::File& base, Head& out, std::string& err);

// The head as the engine will read it from a file written for `base` (q8 / 16-bit rounding applied), so
// reports can score exactly the stored head.
bool stored_head(const trw::File& base, const Head& h, Head& out, std::string& err);

bool write_adapted_model(const trw::File& base, const AdaptedModel& m, const std::string& out_path,
                         const std::string& input_path, std::string& err);

}  // namespace triage::adapt
