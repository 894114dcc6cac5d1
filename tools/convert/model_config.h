// config.json (docs/model-family.md "config.json"): architecture hyperparameters, labels, the good
// label and the input spec, validated. The runtime does not read config.json: it reads the same values
// from the .trw metadata the converter writes (see metadata.h for the key names).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/convert/error.h"

namespace triage::convert {

// Caps on hyperparameters read from config.json: the same as the engine's (runtime/model_config.h),
// so that the converter never writes a file the engine refuses.
inline constexpr int64_t kMaxInChans = 4;
inline constexpr int64_t kMaxImage = 4096;
inline constexpr int64_t kMaxPatch = 64;
inline constexpr int64_t kMaxDim = 4096;
inline constexpr int64_t kMaxHeads = 64;
inline constexpr int64_t kMaxDepth = 64;
inline constexpr int64_t kMaxMlpRatio = 16;
inline constexpr int64_t kMaxStemChannels = 1024;
inline constexpr int64_t kMaxReuseHidden = 16384;
inline constexpr int64_t kMaxTokens = 4096;  // patch tokens of the finest grid (Gf)
inline constexpr size_t kMaxLabels = 1024;
inline constexpr size_t kMaxLabelLen = 256;
inline constexpr uint64_t kMaxConfigBytes = 1ull << 20;

enum class Arch { CfVit, Vit };

struct ArchConfig {
  Arch arch = Arch::CfVit;
  std::string name;  // "cfvit" | "vit"
  int64_t in_chans = 0;
  int64_t img_full = 0;
  int64_t img_coarse = 0;  // cfvit only (= img_full / 2)
  int64_t patch = 0;       // total stride P
  std::vector<int64_t> stem_channels;  // cfvit only: [c1, c2]
  int64_t dim = 0;
  int64_t heads = 0;
  int64_t depth = 0;
  int64_t mlp_ratio = 0;
  int64_t reuse_hidden = 0;  // cfvit only
  int64_t topk = 0;          // cfvit only
  int64_t rank_layers = 0;   // cfvit only
  // Token skipping (cfvit only, optional; docs/model-family.md "Token skipping"): -1 = key absent.
  int64_t keep_coarse = -1, skip_layer = -1, keep_fine = -1;
  double ln_eps = 0;
  double bn_eps = 0;  // cfvit only

  // Derived sizes.
  int64_t stem_patch() const { return patch / 4; }                               // p (cfvit)
  int64_t grid_coarse() const { return (img_coarse / patch) * (img_coarse / patch); }  // Gc (cfvit)
  int64_t grid_full() const { return (img_full / patch) * (img_full / patch); }        // Gf / vit tokens
  int64_t mlp_hidden() const { return mlp_ratio * dim; }
};

struct InputSpec {
  int64_t channels = 0;
  int64_t max_value_u8 = 0;
  int64_t max_value_u16 = 0;
  double mean = 0;
  double std = 0;
};

struct ModelConfig {
  std::string model_name;
  ArchConfig arch;
  std::vector<std::string> labels;
  std::string good_label;
  InputSpec input;
};

// what: the file name for messages. Errors are Errc::Config (or Errc::Format for malformed JSON) and
// name the offending key.
bool parse_model_config(std::string_view json_text, std::string_view what, ModelConfig& out, Error& err);

}  // namespace triage::convert
