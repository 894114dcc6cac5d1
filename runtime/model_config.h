// What a .trw file says about the model: architecture hyperparameters, labels, input spec and router
// thresholds (docs/model-family.md "metadata keys"), validated against hard caps.
#pragma once

#include <limits>

#include "runtime/error.h"
#include "runtime/fixed_vector.h"
#include "weights_format/fallible_array.h"
#include "weights_format/trw.h"

namespace triage::rt {

enum class Arch { CfVit, Vit };

// Caps on what a model may declare: keep every derived buffer size small and overflow-free.
inline constexpr int kMaxDim = 4096;
inline constexpr int kMaxHeads = 64;
inline constexpr int kMaxDepth = 64;
inline constexpr int kMaxImgFull = 4096;
inline constexpr int kMaxPatch = 64;
inline constexpr int kMaxGridTokens = 4096;  // Gf (fine-grid tokens) at most
inline constexpr int kMaxClasses = 1024;
inline constexpr int kMaxStemChannels = 1024;
inline constexpr int kMaxMlpRatio = 16;
inline constexpr int kMaxInChans = 4;
inline constexpr int kMaxLabelLen = 256;

inline constexpr double kMaxThreshold = 2.0;  // router thresholds lie in [0, 2]; above 1: that exit is off

struct RouterThresholds {
  bool calibrated = false;
  // In force only (rt::in_force, never read from a file): the file is not calibrated and the caller did
  // not opt in (TRIAGE_OPEN_ALLOW_UNCALIBRATED), so the good class is never decided.
  bool fail_safe = false;
  double coarse_good = 2.0;    // exit `good` at the coarse pass when P(good) >= this
  double coarse_defect = 0.9;  // exit with a defect class at the coarse pass when its P >= this
  double fine_good = 0.5;      // fine pass: `good` only when P(good) >= this
  double review = 0.6;         // review flag when the decided class's P < this
  // Per-class review thresholds (router.class_review_thresholds, one per class; empty: `review` for
  // every class): the decided class's P below its own threshold goes to review (the reject bin).
  FixedVector<double, kMaxClasses> class_review;
  // Out-of-distribution refusal (router.ood_coarse_threshold / router.ood_fine_threshold, both or neither):
  // a decision whose pass's OOD score (ood_energy) is above that pass's threshold is flagged unknown.
  // +inf (absent): never flagged. ood_false_flag: the rate they were calibrated to (provenance, 0: unknown).
  // Besides the energy, the input's statistics (mean and standard deviation of its samples / max_value,
  // runtime/router.h input_stats) must lie in [lo, hi] (router.ood_input_{mean,std}_{lo,hi}, present
  // with the energy thresholds).
  bool has_ood = false;
  double ood_coarse = std::numeric_limits<double>::infinity();
  double ood_fine = std::numeric_limits<double>::infinity();
  double ood_mean_lo = -std::numeric_limits<double>::infinity(), ood_mean_hi = std::numeric_limits<double>::infinity();
  double ood_std_lo = -std::numeric_limits<double>::infinity(), ood_std_hi = std::numeric_limits<double>::infinity();
  double ood_false_flag = 0;
};
inline constexpr double kMaxOodScore = 1e6;  // |router.ood_*| at most this
// The OOD keys, all present or none (in RouterThresholds order).
inline constexpr const char* kOodKeys[] = {"router.ood_coarse_threshold", "router.ood_fine_threshold",
                                           "router.ood_input_mean_lo",    "router.ood_input_mean_hi",
                                           "router.ood_input_std_lo",     "router.ood_input_std_hi"};

struct InputSpec {
  int channels = 1;
  double max_value_u8 = 255, max_value_u16 = 65535, mean = 0, std = 1;
};

struct ModelConfig {
  Arch arch = Arch::CfVit;
  // "cfvit" / "vit"; model.name ("" when absent, in the ModelText); converter.dtype or the stored dtype.
  const char* arch_name = "";
  const char* model_name = "";
  const char* dtype_name = "";
  trw::DType dtype = trw::DType::F32;  // converter.dtype
  int C = 1;       // input channels
  int Sf = 0;      // full resolution
  int Sc = 0;      // coarse resolution (cfvit)
  int P = 0;       // total patch stride
  int p = 0;       // patch-projection kernel: P / 4 for cfvit, P for vit
  int c1 = 0, c2 = 0;  // stem channels (cfvit)
  int D = 0, H = 0, hd = 0, L = 0;
  int hidden = 0;  // mlp_ratio * D
  int Dr = 0;      // reuse MLP hidden (cfvit)
  int K = 0;       // re-split coarse patches (cfvit)
  int R = 0;       // rank layers (cfvit)
  // Token skipping (cfvit, optional arch keys; docs/model-family.md "Token skipping"). keep_coarse 0: the
  // coarse pass keeps every token; else after block skip_layer - 1 it keeps keep_coarse patch tokens and
  // fuses the rest into one. keep_fine -1: the fine pass carries every unselected coarse token; else the
  // first keep_fine of them in rank order, the rest fused into one.
  int keep_coarse = 0, skip_layer = 0, keep_fine = -1;
  float ln_eps = 1e-6f;
  int Wc = 0, Gc = 0;  // coarse grid side and tokens (cfvit)
  int Wf = 0, Gf = 0;  // fine grid side and tokens
  int n_classes = 0;
  const char* const* labels = nullptr;  // n_classes names, in the ModelText load_config filled
  int good = 0;
  InputSpec input;
  RouterThresholds router;

  int ncls() const { return n_classes; }
  int tokens_coarse() const { return 1 + Gc; }
  bool skips_coarse() const { return keep_coarse > 0; }
  // Tokens of the coarse blocks from skip_layer on (cls, the kept patches, the fused token).
  int tokens_coarse_kept() const { return skips_coarse() ? keep_coarse + 2 : 1 + Gc; }
  // The coarse pass's tokens per block, averaged over its L blocks and rounded (1 + Gc without skipping):
  // what triage_result.tokens counts for it.
  int tokens_coarse_mean() const {
    return skips_coarse() ? (skip_layer * (1 + Gc) + (L - skip_layer) * (keep_coarse + 2) + L / 2) / L : 1 + Gc;
  }
  // Unselected coarse patches a fine pass re-splitting k carries as tokens, and whether a fused token
  // stands for the others.
  int fine_carried(int k) const { return keep_fine < 0 || keep_fine > Gc - k ? Gc - k : keep_fine; }
  bool fine_fused(int k) const { return fine_carried(k) < Gc - k; }
  // Tokens of a fine pass re-splitting k coarse patches (cfvit), or of the single vit pass.
  int tokens_fine(int k) const {
    return arch == Arch::Vit ? 1 + Gf : 1 + 4 * k + fine_carried(k) + (fine_fused(k) ? 1 : 0);
  }
};

// The model's strings a configuration points at (model name, class names), copied out of the file so
// the file's bytes may be freed after open; one fallible allocation each, never an exception.
struct ModelText {
  FallibleArray<char> chars;          // the model name and every label, each NUL-terminated
  FallibleArray<const char*> labels;  // into chars
};

// Reads and validates every metadata key the engine needs into cfg (its strings into text, from
// `from` or the heap, which must outlive cfg's use). false + err (FORMAT / UNSUPPORTED / LIMIT / NOMEM).
bool load_config(const trw::File& file, ModelConfig& cfg, ModelText& text, Error& err, Region* from = nullptr);

}  // namespace triage::rt
