// A tiny safetensors reader for the tests (goldens): F32 / F64 / I64 / I32 tensors as f32 or i64
// vectors, plus the __metadata__ strings.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace triage::test {

struct StTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<float> f;    // F32 / F64 values (as f32)
  std::vector<int64_t> i;  // I64 / I32 values
};

struct Safetensors {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;
  // false + err when the file cannot be read or is malformed.
  bool read(const std::string& path, std::string& err);
};

}  // namespace triage::test
