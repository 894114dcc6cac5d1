// Folding an inference-mode BatchNorm into the convolution before it (docs/model-family.md):
//   s = gamma / sqrt(running_var + eps),  weight' = weight * s[out],  bias' = beta - running_mean * s
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tools/convert/error.h"

namespace triage::convert {

// conv_w: [out_ch, ...] row-major (any per-channel size); gamma/beta/mean/var: [out_ch]. Computed in
// double, rounded once to f32. Fails (Errc::Unsupported, naming `what`) when var + eps <= 0 or a
// result is not finite.
bool fold_batchnorm(std::span<const float> conv_w, std::span<const float> gamma, std::span<const float> beta,
                    std::span<const float> mean, std::span<const float> var, double eps, const std::string& what,
                    std::vector<float>& w_out, std::vector<float>& b_out, Error& err);

}  // namespace triage::convert
