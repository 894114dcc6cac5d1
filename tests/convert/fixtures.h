// Test fixtures: tiny cfvit / timm-vit checkpoints with random weights (fixed seeds), their
// config.json, and a temporary directory. Tensor names and shapes are written out here from
// docs/model-family.md, independently of the converter's own table.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/convert/st_writer.h"

namespace triage::test {

struct TinyModel {
  nlohmann::json config;
  std::vector<std::pair<std::string, std::vector<uint64_t>>> shapes;  // checkpoint tensors, in order
  std::map<std::string, std::vector<float>> weights;
};

// dim 32, heads 2, depth 2, img 32/16, patch 8, stem [4, 8], mlp_ratio 4, reuse_hidden 16, topk 2,
// rank_layers 1, 3 classes, 1 channel. Row 1 of head.weight is all zero (q8 zero-row case).
TinyModel tiny_cfvit(uint32_t seed);
// dim 24, heads 3, depth 2, img 32, patch 8, 3 channels, 4 classes.
TinyModel tiny_vit(uint32_t seed);

// The model's tensors as safetensors entries (F32), plus an I64 stem.{j}.bn.num_batches_tracked
// for cfvit when with_counters.
std::vector<StEntry> entries(const TinyModel& m, bool with_counters = true);

std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
void write_text(const std::string& path, const std::string& text);

// A fresh directory under the system temp dir, removed with its contents at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// Writes model.safetensors + config.json into dir; returns the checkpoint path.
std::string write_model(const TempDir& dir, const TinyModel& m, bool with_counters = true);

}  // namespace triage::test
