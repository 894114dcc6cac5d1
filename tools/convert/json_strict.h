// Strict JSON parsing for outside input (safetensors headers, index files, config.json): rejects
// duplicate object keys (nlohmann silently keeps the last one), nesting deeper than a cap and more
// values than a cap (so a hostile header cannot make the parsed tree huge), and never throws.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tools/convert/error.h"

namespace triage::convert {

struct JsonLimits {
  int max_depth = 8;             // nesting of objects/arrays; the root object is depth 1
  uint64_t max_values = 1u << 20;  // rough count of values and members (commas + openers + 1)
};

// what: names the input in messages ("model.safetensors header"); base_offset: the byte offset of the
// text within its file, added to reported error positions. Errors are Errc::Format.
bool parse_json_strict(std::string_view text, const JsonLimits& limits, std::string_view what,
                       uint64_t base_offset, nlohmann::json& out, Error& err);

}  // namespace triage::convert
