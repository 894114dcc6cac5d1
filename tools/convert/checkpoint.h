// A PyTorch checkpoint in safetensors form: one file, or shards listed by a
// model.safetensors.index.json (`weight_map`: tensor name -> shard file in the same directory).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/convert/error.h"
#include "tools/convert/safetensors.h"

namespace triage::convert {

inline constexpr uint32_t kMaxShards = 256;
inline constexpr uint64_t kMaxIndexBytes = 16ull << 20;

struct Checkpoint {
  std::vector<std::string> files;  // every file read: the index (if any) then the shards, sorted
  std::vector<std::vector<uint8_t>> shard_bytes;  // owns the bytes the tensors point into
  std::vector<StTensor> tensors;                  // all shards' tensors, sorted by name
  // Hex SHA-256 of the single file's bytes, or of the shard files' bytes concatenated in sorted
  // shard-name order (model-00001-of-00002... sort in index order). The index file is not hashed.
  std::string sha256;
  const StTensor* find(const std::string& name) const;
};

// path: a .safetensors file, an index .json file, or a directory holding model.safetensors or
// model.safetensors.index.json. Every shard is parsed and validated; a tensor in two shards, a
// weight_map entry naming the wrong shard and a shard tensor missing from weight_map are errors.
bool load_checkpoint(const std::string& path, Checkpoint& out, Error& err);

// The checkpoint file that `path` designates (resolves directories), or "" when none is found.
std::string resolve_checkpoint_path(const std::string& path);

}  // namespace triage::convert
