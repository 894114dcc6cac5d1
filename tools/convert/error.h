// Error type of the converter library: a code and a one-line message. Nothing in tools/convert throws
// across its API; nlohmann exceptions are caught where JSON is parsed and turned into these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace triage::convert {

enum class Errc : int {
  Ok = 0,
  Io,           // cannot open / read / write a file
  Format,       // malformed safetensors file or index
  Config,       // config.json missing a key or holding a value out of range
  Tensors,      // the checkpoint's tensor set does not match the architecture
  Unsupported,  // valid input the converter does not handle (integer weights, f16 overflow, ...)
  Output,       // refusing or failing to write the output
};

struct Error {
  Errc code = Errc::Ok;
  uint64_t offset = 0;  // byte offset in the offending file, when there is one
  std::string message;  // one line; names the file / tensor / key and the byte offset
  explicit operator bool() const { return code != Errc::Ok; }
};

// Fills err and returns false, so that failure paths read `return fail(err, ...);`.
inline bool fail(Error& err, Errc code, std::string message, uint64_t offset = 0) {
  err.code = code;
  err.offset = offset;
  err.message = std::move(message);
  return false;
}

// A name from outside input made safe for a one-line message: quoted, control bytes shown as '?',
// cut to 120 bytes.
inline std::string quote_name(std::string_view name) {
  std::string s = "'";
  for (size_t i = 0; i < name.size() && i < 120; ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    s.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
  }
  if (name.size() > 120) s += "...";
  return s + "'";
}

}  // namespace triage::convert
