// Writes a calibrated copy of a model file: the same tensors and metadata, the router thresholds,
// router.calibrated = 1 and router.provenance; optionally the same keys as router JSON (for triage
// convert --router). Both written atomically; the caller refuses output paths equal to the inputs.
#pragma once

#include <string>

#include "runtime/model_config.h"

namespace triage::calib {

bool write_calibrated_model(const std::string& model_path, const std::string& out_path, const std::string& json_path,
                            const rt::RouterThresholds& th, const std::string& provenance_json, std::string& err);

}  // namespace triage::calib
