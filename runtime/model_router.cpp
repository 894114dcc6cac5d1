#include "runtime/model_router.h"

#include "runtime/model_signature.h"
#include "runtime/router.h"

namespace triage::rt {

triage_status map_trw(trw::Errc c) {
  switch (c) {
    case trw::Errc::Io: return TRIAGE_E_IO;
    case trw::Errc::NoMemory: return TRIAGE_E_NOMEM;
    case trw::Errc::BadVersion:
    case trw::Errc::UnknownRequiredFeature: return TRIAGE_E_UNSUPPORTED;
    case trw::Errc::LimitExceeded: return TRIAGE_E_LIMIT;
    default: return TRIAGE_E_FORMAT;
  }
}

bool load_model(std::span<const uint8_t> bytes, const uint8_t* public_key, bool allow_uncalibrated, uint32_t force, LoadedModel& m,
                ModelConfig& cfg, RouterThresholds& router, ModelText& text, Error& err, Region* scratch, Region* keep) {
  if (!open_signed(bytes, public_key, bytes, err)) return false;
  trw::Error te;
  // The reader wants a 64-byte aligned buffer (aligned tensor views): copy an unaligned span.
  if (reinterpret_cast<uintptr_t>(bytes.data()) % 64 != 0) {
    if (!m.copy.assign(bytes, te, scratch)) return err.set(map_trw(te.code), "model bytes: %s", te.message.c_str());
    bytes = m.copy.span();
  }
  trw::ParseOptions po;
  po.tables = scratch;
  if (!m.file.parse(bytes, te, po)) return err.set(map_trw(te.code), "model file: %s", te.message.c_str());
  if (!load_config(m.file, cfg, text, err, keep)) return false;
  if (!bind_tensors(m.file, cfg, m.tensors, err, scratch)) return false;
  if (!*cfg.dtype_name) cfg.dtype_name = trw::dtype_name(m.tensors.blocks[0].qkv.w->dtype);
  router = in_force(cfg.router, cfg.good, allow_uncalibrated, cfg.arch == Arch::CfVit && force == TRIAGE_FORCE_COARSE);
  return true;
}

bool decide_coarse_result(const float* logits, int ncls, int good, const RouterThresholds& t, const char* const* labels,
                          const InputStats& in, float* probs, float* ood, triage_result& r) {
  softmax(logits, ncls, probs);
  const CoarseDecision d = decide_coarse(probs, ncls, good, t);
  if (!d.exit) return false;
  *ood = ood_energy(logits, ncls);
  r.unknown = is_unknown(*ood, TRIAGE_ROUTE_COARSE, in, t) ? 1 : 0;
  r.class_index = d.cls;
  r.class_name = labels[d.cls];
  r.confidence = probs[d.cls];
  r.probabilities = probs;
  r.route = TRIAGE_ROUTE_COARSE;
  r.review = needs_review(probs[d.cls], d.cls, t) ? 1 : 0;
  return true;
}

void decide_final_result(const float* logits, int ncls, int good, const RouterThresholds& t, const char* const* labels,
                         const InputStats& in, uint32_t route, float* probs, float* ood, triage_result& r) {
  softmax(logits, ncls, probs);
  *ood = ood_energy(logits, ncls);
  r.unknown = is_unknown(*ood, route, in, t) ? 1 : 0;
  const int cls = decide_final(probs, ncls, good, t);
  r.class_index = cls;
  r.class_name = labels[cls];
  r.confidence = probs[cls];
  r.probabilities = probs;
  r.route = route;
  r.review = final_review(probs, cls, good, t) ? 1 : 0;
}

void fill_model_info(const ModelConfig& cfg, const RouterThresholds& in_force, const char* const* labels,
                     triage_model_info& o) {
  o.model_name = cfg.model_name;
  o.arch = cfg.arch_name;
  o.weight_dtype = cfg.dtype_name;
  o.num_classes = static_cast<uint32_t>(cfg.ncls());
  o.good_class = cfg.good;
  o.class_names = labels;
  o.in_channels = static_cast<uint32_t>(cfg.C);
  o.img_full = static_cast<uint32_t>(cfg.Sf);
  o.img_coarse = static_cast<uint32_t>(cfg.Sc);
  o.max_value_u8 = cfg.input.max_value_u8;
  o.max_value_u16 = cfg.input.max_value_u16;
  o.mean = cfg.input.mean;
  o.std = cfg.input.std;
  o.tokens_coarse = cfg.arch == Arch::CfVit ? static_cast<uint32_t>(cfg.tokens_coarse_mean()) : 0;
  o.router_calibrated = cfg.router.calibrated ? 1 : 0;
  o.coarse_good_threshold = cfg.router.coarse_good;
  o.coarse_defect_threshold = cfg.router.coarse_defect;
  o.fine_good_threshold = cfg.router.fine_good;
  o.review_threshold = cfg.router.review;
  o.embed_dim = static_cast<uint32_t>(cfg.D);
  o.fail_safe = in_force.fail_safe ? 1 : 0;
  o.class_review_thresholds = cfg.router.class_review.empty() ? nullptr : cfg.router.class_review.data();
  o.ood_enabled = cfg.router.has_ood ? 1 : 0;
  o.ood_coarse_threshold = cfg.router.has_ood ? cfg.router.ood_coarse : 0.0;
  o.ood_fine_threshold = cfg.router.has_ood ? cfg.router.ood_fine : 0.0;
  o.ood_input_mean_lo = cfg.router.has_ood ? cfg.router.ood_mean_lo : 0.0;
  o.ood_input_mean_hi = cfg.router.has_ood ? cfg.router.ood_mean_hi : 0.0;
  o.ood_input_std_lo = cfg.router.has_ood ? cfg.router.ood_std_lo : 0.0;
  o.ood_input_std_hi = cfg.router.has_ood ? cfg.router.ood_std_hi : 0.0;
  o.ood_false_flag_rate = cfg.router.ood_false_flag;
}

}  // namespace triage::rt
