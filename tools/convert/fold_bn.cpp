#include "tools/convert/fold_bn.h"

#include <cmath>
#include <limits>

namespace triage::convert {
namespace {

// double -> f32 only when finite and in range (a plain cast of an out-of-range double is undefined).
bool narrow(double d, float& out) {
  if (!std::isfinite(d) || std::fabs(d) > double(std::numeric_limits<float>::max())) return false;
  out = static_cast<float>(d);
  return true;
}

}  // namespace

bool fold_batchnorm(std::span<const float> conv_w, std::span<const float> gamma, std::span<const float> beta,
                    std::span<const float> mean, std::span<const float> var, double eps, const std::string& what,
                    std::vector<float>& w_out, std::vector<float>& b_out, Error& err) {
  const size_t out_ch = gamma.size();
  if (out_ch == 0 || beta.size() != out_ch || mean.size() != out_ch || var.size() != out_ch ||
      conv_w.size() % out_ch != 0)
    return fail(err, Errc::Tensors, what + ": batch norm and conv shapes disagree");
  const size_t per = conv_w.size() / out_ch;
  w_out.resize(conv_w.size());
  b_out.resize(out_ch);
  for (size_t o = 0; o < out_ch; ++o) {
    const double denom = double(var[o]) + eps;
    if (!(denom > 0))
      return fail(err, Errc::Unsupported,
                  what + ": running_var[" + std::to_string(o) + "] + eps is not positive");
    const double s = double(gamma[o]) / std::sqrt(denom);
    const double b = double(beta[o]) - double(mean[o]) * s;
    if (!narrow(b, b_out[o]))
      return fail(err, Errc::Unsupported, what + ": folded bias[" + std::to_string(o) + "] is not finite");
    for (size_t i = 0; i < per; ++i) {
      float w = 0;
      if (!narrow(double(conv_w[o * per + i]) * s, w))
        return fail(err, Errc::Unsupported, what + ": folded weight of channel " + std::to_string(o) +
                                                " is not finite");
      w_out[o * per + i] = w;
    }
  }
  return true;
}

}  // namespace triage::convert
