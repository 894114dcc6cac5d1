// Test helper: converting a fixture model through the public API and reading the result back.
#pragma once

#include <string>
#include <vector>

#include "tests/convert/fixtures.h"
#include "tools/convert/convert.h"
#include "weights_format/trw.h"

namespace triage::test {

// A converted file, parsed (the buffer owns the bytes the File points into).
struct Converted {
  trw::Buffer buf;
  trw::File file;
  convert::ConvertReport report;
};

// Writes m into dir, converts it to dir/<out_name> with dtype; false + err on failure.
bool convert_model(const TempDir& dir, const TinyModel& m, trw::DType dtype, Converted& out, convert::Error& err,
                   const std::string& out_name = "out.trw");

// The stored values of a tensor as f32 (dequantised / widened); empty when absent.
std::vector<float> stored_values(const trw::File& f, const std::string& name);

}  // namespace triage::test
