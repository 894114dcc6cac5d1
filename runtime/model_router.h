// What the CPU and the CUDA engine share around their passes (issue 16, "one router, two backends"):
// the model-load prologue (aligned copy, parse, configuration, tensor binding, the thresholds in
// force), the router's decisions written into triage_result, and the model / router fields of
// triage_model_info. Each engine runs its own passes and calls these; the rules themselves are
// runtime/router.h.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/error.h"
#include "runtime/model_config.h"
#include "runtime/model_tensors.h"
#include "runtime/router.h"
#include "runtime/triage.h"
#include "weights_format/trw.h"

namespace triage::rt {

triage_status map_trw(trw::Errc c);

// A model file opened for binding (after the signature check of runtime/model_signature.h when
// public_key is set; a signed file's trailer is never parsed as model bytes): the parsed file and its tensor views (into `bytes`, or into `copy`
// when bytes were not 64-byte aligned); they live until the engine has packed the weights.
// load_model fills it and, for the engine to keep, cfg, the thresholds in force under the open's policy
// (in_force with allow_uncalibrated / force) and the model's names (text: cfg points into it, results
// and info expose them). Allocates only fallibly: out of memory is TRIAGE_E_NOMEM.
struct LoadedModel {
  trw::Buffer copy;
  trw::File file;
  ModelTensors tensors;
};
// The parse's tables, the aligned copy and the tensor table come from `scratch`, the model's names from
// `keep` (nullptr: the heap).
bool load_model(std::span<const uint8_t> bytes, const uint8_t* public_key, bool allow_uncalibrated, uint32_t force, LoadedModel& m,
                ModelConfig& cfg, RouterThresholds& router, ModelText& text, Error& err, Region* scratch = nullptr,
                Region* keep = nullptr);

// The coarse pass's decision for one image: softmax of logits into probs, then exit (r filled: class,
// confidence, probabilities, route coarse, review, unknown (from the pass's energy, stored in *ood, and
// the input's statistics `in`); returns true) or escalate (returns false, r and *ood untouched).
bool decide_coarse_result(const float* logits, int ncls, int good, const RouterThresholds& t, const char* const* labels,
                          const InputStats& in, float* probs, float* ood, triage_result& r);

// The final decision of a pass that cannot escalate (fine, vit, forced coarse) into r (and its OOD score
// into *ood).
void decide_final_result(const float* logits, int ncls, int good, const RouterThresholds& t, const char* const* labels,
                         const InputStats& in, uint32_t route, float* probs, float* ood, triage_result& r);

// The fields of triage_model_info that come from the model and its router (not the ISA, threads,
// memory or token counts of one engine).
void fill_model_info(const ModelConfig& cfg, const RouterThresholds& in_force, const char* const* labels,
                     triage_model_info& o);

}  // namespace triage::rt
