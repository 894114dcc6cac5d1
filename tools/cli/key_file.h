// Ed25519 key files of `triage keygen` / `sign` / `--public-key`: one text line each,
//   triage-ed25519-secret <64 hex digits: the 32-byte seed>      (mode 0600)
//   triage-ed25519-public <64 hex digits: the 32-byte public key>
// A public key file may also hold the 64 hex digits alone (as pasted from `triage inspect`).
#pragma once

#include <cstdint>
#include <string>

namespace triage::cli {

inline constexpr const char* kSecretTag = "triage-ed25519-secret";
inline constexpr const char* kPublicTag = "triage-ed25519-public";

// false + error (names the path) when the file is missing, unreadable, of the other kind or malformed.
bool read_public_key(const std::string& path, uint8_t out[32], std::string& error);
bool read_secret_seed(const std::string& path, uint8_t out[32], std::string& error);
// "<tag> <hex>\n"
std::string key_line(const char* tag, const uint8_t key[32]);

}  // namespace triage::cli
