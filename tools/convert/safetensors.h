// safetensors reader: 8-byte little-endian header length, a JSON header, then the raw tensor bytes.
// Everything in the header is validated before any tensor is used (caps, dtypes, offsets, sizes,
// overlaps, duplicate names); a hostile file gets an Error naming the tensor and the byte offset.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/convert/error.h"

namespace triage::convert {

// Hard caps on what a safetensors file may declare.
inline constexpr uint64_t kStMaxHeaderBytes = 100ull << 20;  // 100 MiB
inline constexpr uint32_t kStMaxTensors = 4096;
inline constexpr uint32_t kStMaxRank = 8;
inline constexpr uint32_t kStMaxNameLen = 256;
inline constexpr uint64_t kStMaxDim = 1ull << 32;
inline constexpr uint32_t kStMaxMetadata = 4096;
inline constexpr uint64_t kStMaxFileBytes = 1ull << 36;  // 64 GiB, the same cap as .trw files

enum class StDType { F32, F16, BF16, F64, I64, I32, U8, I8, BOOL };
const char* st_dtype_name(StDType t);
uint32_t st_dtype_size(StDType t);
// F32, F16, BF16, F64: the types whose values the converter reads. Integer types are only accepted
// for tensors the converter ignores (BatchNorm's num_batches_tracked).
bool st_dtype_is_float(StDType t);

struct StTensor {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<uint64_t> shape;
  uint64_t numel = 1;
  uint64_t file_offset = 0;       // of the first data byte, from the start of the file
  std::span<const uint8_t> data;  // numel * dtype size bytes inside the parsed buffer (unaligned)
};

struct StFile {
  uint64_t header_len = 0;  // the JSON header's length (bytes 8 .. 8 + header_len)
  std::vector<StTensor> tensors;  // sorted by name
  std::vector<std::pair<std::string, std::string>> metadata;  // __metadata__, sorted by key
};

// what: the file's name for messages. bytes must outlive out (tensors point into it).
bool parse_safetensors(std::span<const uint8_t> bytes, std::string_view what, StFile& out, Error& err);

// Values of a float tensor (F32/F16/BF16/F64) as f32. F64 values outside the f32 range become inf;
// callers reject non-finite weights.
bool st_to_f32(const StTensor& t, std::vector<float>& out, Error& err);

}  // namespace triage::convert
