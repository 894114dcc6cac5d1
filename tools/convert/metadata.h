// The .trw metadata the converter writes (docs/model-family.md ".trw metadata keys"): architecture,
// labels, input spec, provenance, and the router keys at their uncalibrated defaults.
#pragma once

#include <string>

#include "tools/convert/model_config.h"
#include "weights_format/trw.h"

namespace triage::convert {

// Uncalibrated router defaults: never exit "good" at the coarse pass (P(good) cannot reach 2.0).
inline constexpr double kUncalCoarseGoodThreshold = 2.0;
inline constexpr double kUncalCoarseDefectThreshold = 0.9;
inline constexpr double kUncalFineGoodThreshold = 0.5;
inline constexpr double kUncalReviewThreshold = 0.6;

// The router keys at their uncalibrated defaults (router.calibrated = 0, provenance "{}"): what a fresh
// conversion carries, and a file whose head changed (triage adapt).
void write_uncalibrated_router(trw::Writer& w);

// storage: "f32" | "f16" | "bf16" | "q8" (converter.dtype).
void write_metadata(const ModelConfig& cfg, const std::string& storage, const std::string& source_sha256,
                    const std::string& config_sha256, trw::Writer& w);

}  // namespace triage::convert
