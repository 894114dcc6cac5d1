// A loaded model: configuration, packed weights, thread pool, planned arena and result storage, plus
// the classify logic (passes + router). The C API (capi.cpp) is a thin shell over this class.
#pragma once

#include <span>

#include "runtime/error.h"
#include "runtime/forward.h"
#include "runtime/model_config.h"
#include "runtime/router.h"
#include "runtime/packed_model.h"
#include "runtime/thread_pool.h"
#include "runtime/triage.h"
#include "runtime/workspace.h"
#include "weights_format/fallible_array.h"

namespace triage::rt {

class Engine {
 public:
  // Open: parses, validates and packs the model at bytes, plans the arena, starts the threads and binds
  // the arena; bytes may be freed afterwards. Memory comes from two regions (weights_format/
  // fallible_array.h), each the caller's block (options.arena / options.weights) or a measuring one
  // (the heap): `state` holds the open's scratch, then the result rows and the activations (what
  // classify writes; the caller has already taken the handle from it); `keep` the model's names and
  // packed weights (nothing writes them after open). ArenaSize stops after planning, WeightsSize after
  // packing; arena_bytes / weights_bytes say how much of each an open takes.
  enum class Mode { Open, ArenaSize, WeightsSize };
  bool load(std::span<const uint8_t> bytes, const triage_options& opts, Mode mode, Error& err, Region& state,
            Region& keep);

  // Checks the options an open takes (ranges, flags, the caller memory's alignment). false + err.
  static bool check_options(const triage_options& o, Error& err);

  size_t arena_bytes() const { return arena_bytes_; }
  size_t weights_bytes() const { return weights_bytes_; }
  const ModelConfig& config() const { return cfg_; }

  // Validates n images and classifies them. false + err on an invalid argument (nothing computed).
  bool classify(const triage_image* images, int n, triage_result* results, Error& err);
  // Images per forward sweep: a larger batch runs as consecutive chunks (classify, engine.cpp), and the
  // activation arena is planned for at most this many images whatever options.max_batch says.
  static constexpr int kChunkImages = 8;
  void info(triage_model_info& out) const;
  // The final-norm CLS features of image `index` of the last classify call in pass `route`.
  bool features(size_t index, uint32_t route, float* out, size_t count, Error& err) const;
  // Per-op timing of the passes into p (runtime/op_profile.h; nullptr: off). Benchmarks only.
  void set_profile(OpProfile* p) {
    profile_ = p;
    fwd_.set_profile(p);
  }
  // The OOD scores of image `index` of the last classify call (triage_get_ood_scores).
  bool ood_scores(size_t index, float* out, size_t count, Error& err) const;

  Error last_error;  // of the last C API call on this handle

 private:
  bool load_steps(std::span<const uint8_t> bytes, const triage_options& opts, Mode mode, Error& err, Region& state,
                  Region& keep);
  bool check_image(const triage_image& img, int index, Error& err) const;
  // One chunk of a classify call: images [base, base + n) of the call; results points at image base.
  void classify_chunk(const triage_image* images, int n, triage_result* results, int base);
  void finish(int i, const float* logits, uint32_t route, triage_result& r);
  // Copies a pass's pre-norm CLS row of image i (for features()).
  void keep_cls(int i, uint32_t route, const float* row);

  ModelConfig cfg_;
  RouterThresholds router_;  // in force (rt::in_force): the file's thresholds under this open's policy
  PackedModel pm_;
  kernels::Isa isa_ = kernels::Isa::Scalar;
  triage_options opts_{};
  WorkspaceShape shape_;
  WorkspacePlan plan_;
  Workspace ws_;
  FallibleArray<PackedModel::Line> arena_mem_;  // the activations (from `state`)
  ThreadPool pool_;
  Forward fwd_;
  int fine_k_ = 0;                       // K used when escalating (topk, or Gc for fine-all)
  // Sized at open, each one fallible allocation (NOMEM), never resized while classifying.
  FallibleArray<float> probs_;           // [max_batch, ncls]
  FallibleArray<float> ood_;             // [max_batch] OOD score of each image's deciding pass
  FallibleArray<InputStats> in_stats_;   // [max_batch] input statistics of each image (OOD test)
  OpProfile* profile_ = nullptr;         // set_profile
  FallibleArray<int> esc_;               // [max_batch] escalated images of the current batch
  ModelText text_;                       // model name and class names (cfg_ points into it)
  FallibleArray<float> cls_rows_;        // [max_batch, 2 (coarse, fine), D] pre-norm CLS rows of the last call
  FallibleArray<uint8_t> cls_pass_;      // [max_batch] bit 0: coarse row valid, bit 1: fine row valid
  int last_n_ = 0;                       // images of the last classify call
  size_t weights_bytes_ = 0;             // of the weights memory an open takes (names, tables, packed weights)
  size_t arena_bytes_ = 0;               // of the arena memory an open takes (handle, scratch / rows + activations)
};

}  // namespace triage::rt
