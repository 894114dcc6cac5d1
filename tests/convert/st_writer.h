// Test helper: writes safetensors files from C++ (valid ones, and raw header + data for broken ones).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace triage::test {

struct StEntry {
  std::string name;
  std::string dtype;  // "F32", "F16", "I64", ...
  std::vector<uint64_t> shape;
  std::vector<uint8_t> bytes;
};

StEntry f32_entry(const std::string& name, const std::vector<uint64_t>& shape, const std::vector<float>& v);

// Tensors laid out back to back in the given order; header padded with spaces to a multiple of 8
// (as the safetensors library does).
std::vector<uint8_t> make_safetensors(const std::vector<StEntry>& tensors,
                                      const std::map<std::string, std::string>& metadata = {});

// 8-byte little-endian length of `header`, the header, then `data`.
std::vector<uint8_t> raw_safetensors(const std::string& header, const std::vector<uint8_t>& data);

}  // namespace triage::test
