#include "tools/convert/metadata.h"

#include "runtime/version.h"

namespace triage::convert {

void write_metadata(const ModelConfig& cfg, const std::string& storage, const std::string& source_sha256,
                    const std::string& config_sha256, trw::Writer& w) {
  const ArchConfig& a = cfg.arch;
  w.set_str("model.name", cfg.model_name);
  w.set_str("arch.name", a.name);
  w.set_i64("arch.in_chans", a.in_chans);
  w.set_i64("arch.img_full", a.img_full);
  if (a.arch == Arch::CfVit) w.set_i64("arch.img_coarse", a.img_coarse);
  w.set_i64("arch.patch", a.patch);
  if (a.arch == Arch::CfVit) w.set_i64_array("arch.stem_channels", a.stem_channels);
  w.set_i64("arch.dim", a.dim);
  w.set_i64("arch.heads", a.heads);
  w.set_i64("arch.depth", a.depth);
  w.set_i64("arch.mlp_ratio", a.mlp_ratio);
  if (a.arch == Arch::CfVit) {
    w.set_i64("arch.reuse_hidden", a.reuse_hidden);
    w.set_i64("arch.topk", a.topk);
    w.set_i64("arch.rank_layers", a.rank_layers);
    if (a.keep_coarse >= 0) {
      w.set_i64("arch.keep_coarse", a.keep_coarse);
      w.set_i64("arch.skip_layer", a.skip_layer);
    }
    if (a.keep_fine >= 0) w.set_i64("arch.keep_fine", a.keep_fine);
  }
  w.set_f64("arch.ln_eps", a.ln_eps);
  if (a.arch == Arch::CfVit) w.set_f64("arch.bn_eps", a.bn_eps);

  w.set_str_array("labels", cfg.labels);
  w.set_str("good_label", cfg.good_label);
  w.set_i64("input.channels", cfg.input.channels);
  w.set_i64("input.max_value_u8", cfg.input.max_value_u8);
  w.set_i64("input.max_value_u16", cfg.input.max_value_u16);
  w.set_f64("input.mean", cfg.input.mean);
  w.set_f64("input.std", cfg.input.std);

  w.set_str("converter.version", triage::version_string());
  w.set_str("converter.dtype", storage);
  w.set_str("source.sha256", source_sha256);
  w.set_str("source.config_sha256", config_sha256);

  write_uncalibrated_router(w);
}

void write_uncalibrated_router(trw::Writer& w) {
  w.set_i64("router.calibrated", 0);
  w.set_f64("router.coarse_good_threshold", kUncalCoarseGoodThreshold);
  w.set_f64("router.coarse_defect_threshold", kUncalCoarseDefectThreshold);
  w.set_f64("router.fine_good_threshold", kUncalFineGoodThreshold);
  w.set_f64("router.review_threshold", kUncalReviewThreshold);
  w.set_str("router.provenance", "{}");
}

}  // namespace triage::convert
