// RawTrw: an encoder for .trw files written from SPEC.md independently of trw::Writer, with every
// field overridable, so tests can build files the writer refuses to produce (rank 9, overlapping
// payloads, bad CRCs...). A test-only check that it agrees byte for byte with the Writer on valid
// input (test_raw_encoder.cpp) keeps the two honest.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace triage::trw::test {

struct RawMeta {
  std::string key;
  uint32_t type = 1;
  std::vector<uint8_t> value;  // encoded value bytes (use the enc_* helpers)
  std::optional<uint32_t> key_len;  // overrides the encoded key length
};

struct RawTensor {
  std::string name;
  uint32_t dtype = 1;
  std::vector<uint64_t> dims;
  std::vector<uint8_t> payload;            // stored bytes (q8: int8s, padding, scales)
  std::optional<uint64_t> offset;          // absolute; default: next 64-aligned slot in the data section
  std::optional<uint64_t> nbytes;          // default: payload.size()
  std::optional<uint32_t> crc;             // default: CRC32C of payload
  std::optional<uint32_t> rank;            // default: dims.size()
  std::optional<uint32_t> name_len;        // default: name.size()
};

struct RawTrw {
  uint16_t major = 1, minor = 0;
  uint64_t required = 0, optional_bits = 0;
  uint32_t header_size = 128;
  std::vector<RawMeta> meta;
  std::vector<RawTensor> tensors;
  // Header fields to overwrite after layout (offset -> value; width by the field at that offset).
  std::map<uint64_t, uint64_t> header_override;
  // Runs on the encoded bytes before the checksums are computed.
  std::function<void(std::vector<uint8_t>&)> edit;
  bool fix_header_crc = true, fix_file_crc = true;

  std::vector<uint8_t> encode() const;
};

std::vector<uint8_t> enc_u32(uint32_t v);
std::vector<uint8_t> enc_u64(uint64_t v);
std::vector<uint8_t> enc_str(const std::string& s);
RawMeta meta_i64(std::string key, int64_t v);
RawMeta meta_str(std::string key, const std::string& s);

// Recomputes the header CRC (at header_size - 4) and the file CRC (last 4 bytes) of an encoded file.
void fix_checksums(std::vector<uint8_t>& f);

// Payload of an f32 tensor of n elements with deterministic values.
std::vector<uint8_t> f32_payload(uint64_t n, uint32_t seed);

// A small valid file: three metadata entries and three tensors (f32, f16, q8).
RawTrw small_valid_raw();

}  // namespace triage::trw::test
