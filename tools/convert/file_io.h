// Whole-file reads with a size cap (the same-file test lives in weights_format: trw::same_file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/convert/error.h"

namespace triage::convert {

// Reads the whole file; refuses files larger than max_bytes (Errc::Io / Errc::Format).
bool read_file_bytes(const std::string& path, uint64_t max_bytes, std::vector<uint8_t>& out, Error& err);

}  // namespace triage::convert
