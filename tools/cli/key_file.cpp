// Reading and formatting the key files of key_file.h.
#include "tools/cli/key_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/cli/text.h"

namespace triage::cli {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The file's one line: "<tag> <64 hex>" (or "<64 hex>" when bare_ok), trailing newline optional.
bool read_key(const std::string& path, const char* tag, const char* other_tag, bool bare_ok, uint8_t out[32],
              std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read key file '" + printable(path) + "'";
    return false;
  }
  std::string text(4096, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  std::string hex = text;
  const std::string want = std::string(tag) + " ";
  if (text.rfind(other_tag, 0) == 0) {
    error = "'" + printable(path) + "' is a " + other_tag + " file, not a " + tag + " file";
    return false;
  }
  if (text.rfind(want, 0) == 0) hex = text.substr(want.size());
  else if (!bare_ok) hex.clear();
  bool ok = hex.size() == 64;
  for (size_t i = 0; ok && i < 32; ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!ok) error = "'" + printable(path) + "' is not a key file (want one line: " + tag + " <64 hex digits>)";
  return ok;
}

}  // namespace

bool read_public_key(const std::string& path, uint8_t out[32], std::string& error) {
  return read_key(path, kPublicTag, kSecretTag, true, out, error);
}

bool read_secret_seed(const std::string& path, uint8_t out[32], std::string& error) {
  return read_key(path, kSecretTag, kPublicTag, false, out, error);
}

std::string key_line(const char* tag, const uint8_t key[32]) {
  std::string s = std::string(tag) + " ";
  char b[3];
  for (int i = 0; i < 32; ++i) {
    std::snprintf(b, sizeof b, "%02x", key[i]);
    s += b;
  }
  return s + "\n";
}

}  // namespace triage::cli
