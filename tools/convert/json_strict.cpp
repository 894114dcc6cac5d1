#include "tools/convert/json_strict.h"

#include <set>
#include <string>
#include <vector>

namespace triage::convert {
namespace {

// One pass over the raw text, outside strings: nesting depth and a value count, checked before the
// parser builds anything.
bool prescan(std::string_view text, const JsonLimits& limits, std::string_view what, uint64_t base,
             Error& err) {
  int depth = 0;
  uint64_t values = 1;
  bool in_string = false, escape = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limits.max_depth)
        return fail(err, Errc::Format,
                    std::string(what) + ": JSON nested deeper than " + std::to_string(limits.max_depth) +
                        " at byte " + std::to_string(base + i),
                    base + i);
      ++values;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',') {
      ++values;
    }
    if (values > limits.max_values)
      return fail(err, Errc::Format,
                  std::string(what) + ": JSON holds more than " + std::to_string(limits.max_values) +
                      " values (at byte " + std::to_string(base + i) + ")",
                  base + i);
  }
  return true;
}

// Where the raw key text "key" occurs for the second time, for the duplicate-key message (best effort:
// keys holding escapes are reported at the start of the text).
uint64_t second_occurrence(std::string_view text, const std::string& key) {
  std::string needle = "\"" + key + "\"";
  size_t first = text.find(needle);
  if (first == std::string_view::npos) return 0;
  size_t second = text.find(needle, first + 1);
  return second == std::string_view::npos ? 0 : second;
}

}  // namespace

bool parse_json_strict(std::string_view text, const JsonLimits& limits, std::string_view what,
                       uint64_t base_offset, nlohmann::json& out, Error& err) {
  if (!prescan(text, limits, what, base_offset, err)) return false;
  using json = nlohmann::json;
  // One key set per open object; the callback always keeps values so that object_start/object_end
  // stay paired (nlohmann skips object_end for discarded objects).
  std::vector<std::set<std::string>> open_keys;
  bool duplicate = false;
  std::string duplicate_key;
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
        open_keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_keys.empty()) open_keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_keys.empty() && parsed.is_string()) {
          const auto& k = parsed.get_ref<const std::string&>();
          if (!open_keys.back().insert(k).second && !duplicate) {
            duplicate = true;
            duplicate_key = k;
          }
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    out = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    uint64_t at = base_offset + (e.byte > 0 ? e.byte - 1 : 0);
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..." on one line.
    return fail(err, Errc::Format,
                std::string(what) + ": invalid JSON at byte " + std::to_string(at) + ": " + e.what(), at);
  } catch (const std::exception& e) {
    return fail(err, Errc::Format, std::string(what) + ": invalid JSON: " + e.what(), base_offset);
  }
  if (duplicate) {
    uint64_t at = base_offset + second_occurrence(text, duplicate_key);
    return fail(err, Errc::Format,
                std::string(what) + ": duplicate key " + quote_name(duplicate_key) + " at byte " + std::to_string(at),
                at);
  }
  return true;
}

}  // namespace triage::convert
