// The out-of-distribution thresholds of `triage calibrate --ood-false-flag` (tools/calibrate/ood_threshold.h)
// as JSON (the report and router.provenance) and as text lines.
#pragma once

#include <nlohmann/json.hpp>

#include "tools/calibrate/ood_threshold.h"

namespace triage::cli {

nlohmann::ordered_json ood_json(const calib::OodCalibration& c, double alpha);
void print_ood(const calib::OodCalibration& c, double alpha);

}  // namespace triage::cli
