// Casting f32 weights to the 16-bit storage types (round to nearest even, trw's conversions).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "weights_format/trw.h"
#include "tools/convert/error.h"

namespace triage::convert {

// dtype: F16 or BF16. Fails (Errc::Unsupported, naming `what`) when a finite value overflows the
// type (|w| > 65504 for f16): the converter never stores an inf it was not given.
bool cast_16bit(std::span<const float> w, trw::DType dtype, const std::string& what, std::vector<uint16_t>& out,
                Error& err);

// The values a reader sees: f16/bf16 back to f32.
void uncast_16bit(std::span<const uint16_t> h, trw::DType dtype, std::vector<float>& out);

}  // namespace triage::convert
