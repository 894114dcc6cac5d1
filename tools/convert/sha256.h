// SHA-256 (FIPS 180-4), for the source.sha256 / source.config_sha256 provenance keys.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace triage::convert {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const uint8_t> bytes);
  // Pads and returns the digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  uint64_t buf_len_ = 0;
  uint64_t total_len_ = 0;  // bytes; FIPS 180-4 caps messages at 2^64 bits, far beyond our file caps
};

// Lower-case hex of a digest.
std::string to_hex(std::span<const uint8_t> digest);
// One-shot helper: lower-case hex SHA-256 of bytes.
std::string sha256_hex(std::span<const uint8_t> bytes);

}  // namespace triage::convert
