// How far stored (quantised / cast) weights are from the float weights, for the conversion report.
#pragma once

#include <span>

namespace triage::convert {

struct WeightError {
  double max_abs = 0;  // max |ref - stored|
  // 10 log10(sum ref^2 / sum (ref - stored)^2); +inf when the stored values are exact.
  double snr_db = 0;
};

WeightError weight_error(std::span<const float> ref, std::span<const float> stored);

}  // namespace triage::convert
