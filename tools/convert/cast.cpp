#include "tools/convert/cast.h"

#include <cmath>

namespace triage::convert {

bool cast_16bit(std::span<const float> w, trw::DType dtype, const std::string& what, std::vector<uint16_t>& out,
                Error& err) {
  const bool f16 = dtype == trw::DType::F16;
  out.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    out[i] = f16 ? trw::f32_to_f16(w[i]) : trw::f32_to_bf16(w[i]);
    const float back = f16 ? trw::f16_to_f32(out[i]) : trw::bf16_to_f32(out[i]);
    if (std::isfinite(w[i]) && !std::isfinite(back))
      return fail(err, Errc::Unsupported,
                  what + ": value " + std::to_string(w[i]) + " at element " + std::to_string(i) +
                      " overflows " + trw::dtype_name(dtype) + "; convert with --dtype f32 or q8");
  }
  return true;
}

void uncast_16bit(std::span<const uint16_t> h, trw::DType dtype, std::vector<float>& out) {
  out.resize(h.size());
  for (size_t i = 0; i < h.size(); ++i)
    out[i] = dtype == trw::DType::F16 ? trw::f16_to_f32(h[i]) : trw::bf16_to_f32(h[i]);
}

}  // namespace triage::convert
