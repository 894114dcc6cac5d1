// Reads the model's metadata keys (docs/model-family.md) and checks them against hard caps before any
// buffer is sized from them.
#include "runtime/model_config.h"

#include <cmath>
#include <iterator>
#include <span>
#include <string_view>
#include <utility>

namespace triage::rt {
namespace {

// Metadata reader that turns trw lookup failures into FORMAT errors naming the key.
struct Meta {
  const trw::File& f;
  Error& err;

  bool i64(const char* key, int64_t& out) {
    trw::Error e;
    if (f.get_i64(key, out, e)) return true;
    // Integral values written as f64 are accepted (e.g. mlp_ratio 4.0 from a timm config).
    double d = 0;
    trw::Error e2;
    if (f.get_f64(key, d, e2) && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      out = static_cast<int64_t>(d);
      return true;
    }
    return err.set(TRIAGE_E_FORMAT, "metadata key '%s': %s", key, e.message.c_str());
  }
  bool f64(const char* key, double& out) {
    trw::Error e;
    if (f.get_f64(key, out, e)) {
      if (!std::isfinite(out)) return err.set(TRIAGE_E_FORMAT, "metadata key '%s' is not finite", key);
      return true;
    }
    int64_t i = 0;
    trw::Error e2;
    if (f.get_i64(key, i, e2)) {
      out = static_cast<double>(i);
      return true;
    }
    return err.set(TRIAGE_E_FORMAT, "metadata key '%s': %s", key, e.message.c_str());
  }
  bool str(const char* key, std::string_view& out) {
    trw::Error e;
    if (f.get_str(key, out, e)) return true;
    return err.set(TRIAGE_E_FORMAT, "metadata key '%s': %s", key, e.message.c_str());
  }
  // An integer key within [lo, hi]; above a hard cap (hi_is_cap) is LIMIT, otherwise FORMAT.
  bool range(const char* key, int lo, int hi, int& out, bool hi_is_cap = true) {
    int64_t v = 0;
    if (!i64(key, v)) return false;
    if (v < lo || v > hi)
      return err.set(v > hi && hi_is_cap ? TRIAGE_E_LIMIT : TRIAGE_E_FORMAT, "metadata key '%s' = %lld is outside [%d, %d]",
                     key, static_cast<long long>(v), lo, hi);
    out = static_cast<int>(v);
    return true;
  }
  // An optional f64 key: absent keeps the default.
  bool opt_f64(const char* key, double& out) {
    if (!f.find_meta(key)) return true;
    return f64(key, out);
  }
};

// printf's "%.*s" length for a string from the file, at most n bytes of it.
int shown(std::string_view s, size_t n) { return static_cast<int>(s.size() < n ? s.size() : n); }

bool parse_dtype(std::string_view s, trw::DType& out) {
  if (s == "f32") out = trw::DType::F32;
  else if (s == "f16") out = trw::DType::F16;
  else if (s == "bf16") out = trw::DType::BF16;
  else if (s == "q8") out = trw::DType::Q8;
  else return false;
  return true;
}

// The model name and the labels, copied into text (one allocation each) for cfg to point at.
bool load_labels(Meta& m, std::string_view model_name, ModelConfig& cfg, ModelText& text, Region* from, Error& err) {
  trw::Error e;
  std::span<const std::string_view> labels;
  if (!m.f.get_str_array("labels", labels, e))
    return err.set(TRIAGE_E_FORMAT, "metadata key 'labels': %s", e.message.c_str());
  if (labels.size() < 1 || labels.size() > static_cast<size_t>(kMaxClasses))
    return err.set(TRIAGE_E_LIMIT, "metadata 'labels' holds %zu classes (allowed 1..%d)", labels.size(), kMaxClasses);
  size_t chars = model_name.size() + 1;  // model.name is at most kMaxStringLen (the reader's cap): no overflow
  for (std::string_view l : labels) {
    if (l.empty() || l.size() > static_cast<size_t>(kMaxLabelLen))
      return err.set(TRIAGE_E_FORMAT, "metadata 'labels' holds an empty or over-long (>%d) name", kMaxLabelLen);
    chars += l.size() + 1;
  }
  if (!text.chars.resize(chars, from) || !text.labels.resize(labels.size(), from))
    return err.set(TRIAGE_E_NOMEM, "cannot allocate %zu bytes for the model's names", chars);
  char* p = text.chars.data();
  auto copy = [&p](std::string_view s) {
    char* at = p;
    for (char c : s) *p++ = c;
    *p++ = '\0';
    return at;
  };
  cfg.model_name = copy(model_name);
  for (size_t i = 0; i < labels.size(); ++i) text.labels[i] = copy(labels[i]);
  cfg.n_classes = static_cast<int>(labels.size());
  cfg.labels = text.labels.data();
  std::string_view good;
  if (!m.str("good_label", good)) return false;
  if (good.empty()) {  // no good class: every class is a defect class (runtime/router.h)
    cfg.good = -1;
    return true;
  }
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == good) {
      cfg.good = static_cast<int>(i);
      return true;
    }
  return err.set(TRIAGE_E_FORMAT, "good_label '%.*s' is not one of the labels", shown(good, 256), good.data());
}

bool load_input(Meta& m, ModelConfig& cfg, Error& err) {
  InputSpec& in = cfg.input;
  if (!m.range("input.channels", 1, kMaxInChans, in.channels)) return false;
  if (in.channels != cfg.C)
    return err.set(TRIAGE_E_FORMAT, "input.channels %d != arch.in_chans %d", in.channels, cfg.C);
  if (!m.f64("input.max_value_u8", in.max_value_u8) || !m.f64("input.max_value_u16", in.max_value_u16) ||
      !m.f64("input.mean", in.mean) || !m.f64("input.std", in.std))
    return false;
  if (!(in.max_value_u8 > 0) || !(in.max_value_u16 > 0) || !(in.std > 0))
    return err.set(TRIAGE_E_FORMAT, "input.max_value_u8/u16 and input.std must be > 0");
  return true;
}

// Thresholds are probabilities compared with >=: each must lie in [0, kMaxThreshold] (a value above 1
// turns that exit off: the uncalibrated coarse_good is 2.0), and with a good class the coarse pass may
// not exit good more easily than the fine pass decides it (coarse_good >= fine_good), since the coarse
// pass sees less of the image. A file breaking either rule is refused at open.
bool check_router(const RouterThresholds& r, int good, Error& err) {
  const struct {
    const char* key;
    double v;
  } keys[] = {{"router.coarse_good_threshold", r.coarse_good},
              {"router.coarse_defect_threshold", r.coarse_defect},
              {"router.fine_good_threshold", r.fine_good},
              {"router.review_threshold", r.review}};
  for (const auto& k : keys)
    if (!(k.v >= 0.0 && k.v <= kMaxThreshold))
      return err.set(TRIAGE_E_FORMAT, "%s = %g is outside [0, %g]", k.key, k.v, kMaxThreshold);
  for (size_t k = 0; k < r.class_review.size(); ++k)
    if (!(r.class_review[k] >= 0.0 && r.class_review[k] <= kMaxThreshold))
      return err.set(TRIAGE_E_FORMAT, "router.class_review_thresholds[%zu] = %g is outside [0, %g]", k, r.class_review[k],
                     kMaxThreshold);
  if (r.has_ood) {
    const double vals[] = {r.ood_coarse, r.ood_fine, r.ood_mean_lo, r.ood_mean_hi, r.ood_std_lo, r.ood_std_hi};
    for (size_t k = 0; k < std::size(kOodKeys); ++k)
      if (!(vals[k] >= -kMaxOodScore && vals[k] <= kMaxOodScore))
        return err.set(TRIAGE_E_FORMAT, "%s = %g is outside [-%g, %g]", kOodKeys[k], vals[k], kMaxOodScore, kMaxOodScore);
    if (!(r.ood_mean_lo <= r.ood_mean_hi) || !(r.ood_std_lo <= r.ood_std_hi))
      return err.set(TRIAGE_E_FORMAT, "router.ood_input_*_lo is above its _hi");
  }
  if (!(r.ood_false_flag >= 0.0 && r.ood_false_flag <= 1.0))
    return err.set(TRIAGE_E_FORMAT, "router.ood_false_flag_rate = %g is outside [0, 1]", r.ood_false_flag);
  if (good >= 0 && r.coarse_good < r.fine_good)
    return err.set(TRIAGE_E_FORMAT,
                   "router.coarse_good_threshold %g is below router.fine_good_threshold %g: the coarse pass would "
                   "exit good on less evidence than the fine pass needs",
                   r.coarse_good, r.fine_good);
  return true;
}

bool load_router(Meta& m, ModelConfig& cfg) {
  RouterThresholds& r = cfg.router;
  int64_t calibrated = 0;
  if (m.f.find_meta("router.calibrated") && !m.i64("router.calibrated", calibrated)) return false;
  if (calibrated != 0 && calibrated != 1)
    return m.err.set(TRIAGE_E_FORMAT, "router.calibrated = %lld must be 0 or 1", static_cast<long long>(calibrated));
  r.calibrated = calibrated != 0;
  if (m.f.find_meta("router.class_review_thresholds")) {
    trw::Error e;
    std::span<const double> cr;
    if (!m.f.get_f64_array("router.class_review_thresholds", cr, e))
      return m.err.set(TRIAGE_E_FORMAT, "metadata key 'router.class_review_thresholds': %s", e.message.c_str());
    if (cr.size() != static_cast<size_t>(cfg.ncls()) || !r.class_review.assign(cr.begin(), cr.end()))
      return m.err.set(TRIAGE_E_FORMAT, "router.class_review_thresholds holds %zu values for %d classes", cr.size(),
                       cfg.ncls());
  }
  int n_ood = 0;
  for (const char* key : kOodKeys) n_ood += m.f.find_meta(key) != nullptr;
  if (n_ood != 0 && n_ood != static_cast<int>(std::size(kOodKeys)))
    return m.err.set(TRIAGE_E_FORMAT, "the router.ood_* thresholds come together: the file has %d of the %zu", n_ood,
                     std::size(kOodKeys));
  r.has_ood = n_ood != 0;
  return m.opt_f64("router.coarse_good_threshold", r.coarse_good) &&
         m.opt_f64("router.coarse_defect_threshold", r.coarse_defect) &&
         m.opt_f64("router.fine_good_threshold", r.fine_good) && m.opt_f64("router.review_threshold", r.review) &&
         m.opt_f64("router.ood_coarse_threshold", r.ood_coarse) && m.opt_f64("router.ood_fine_threshold", r.ood_fine) &&
         m.opt_f64("router.ood_input_mean_lo", r.ood_mean_lo) && m.opt_f64("router.ood_input_mean_hi", r.ood_mean_hi) &&
         m.opt_f64("router.ood_input_std_lo", r.ood_std_lo) && m.opt_f64("router.ood_input_std_hi", r.ood_std_hi) &&
         m.opt_f64("router.ood_false_flag_rate", r.ood_false_flag) && check_router(r, cfg.good, m.err);
}

// Token skipping keys (optional): arch.keep_coarse and arch.skip_layer together, arch.keep_fine alone.
bool load_skipping(Meta& m, ModelConfig& cfg, Error& err) {
  const bool kc = m.f.find_meta("arch.keep_coarse") != nullptr, sl = m.f.find_meta("arch.skip_layer") != nullptr;
  if (kc != sl) return err.set(TRIAGE_E_FORMAT, "arch.keep_coarse and arch.skip_layer come together: the file has one");
  if (kc) {
    // K <= keep_coarse < Gc: the re-split patches come from the kept ones, and at least one is fused.
    if (cfg.Gc < 2 || cfg.K >= cfg.Gc)
      return err.set(TRIAGE_E_FORMAT, "token skipping needs arch.topk (%d) below the %d coarse patches", cfg.K, cfg.Gc);
    if (!m.range("arch.keep_coarse", cfg.K < 1 ? 1 : cfg.K, cfg.Gc - 1, cfg.keep_coarse, false)) return false;
    // The ranking layers all run after the skip, on the kept tokens.
    if (cfg.L - cfg.R < 1)
      return err.set(TRIAGE_E_FORMAT, "token skipping needs a block before the %d ranking layers (depth %d)", cfg.R, cfg.L);
    if (!m.range("arch.skip_layer", 1, cfg.L - cfg.R, cfg.skip_layer, false)) return false;
  }
  if (m.f.find_meta("arch.keep_fine") && !m.range("arch.keep_fine", 0, cfg.Gc - cfg.K - 1, cfg.keep_fine, false))
    return false;
  return true;
}

bool load_cfvit(Meta& m, ModelConfig& cfg, Error& err) {
  if (!m.range("arch.img_coarse", 4, kMaxImgFull / 2, cfg.Sc)) return false;
  if (cfg.Sc * 2 != cfg.Sf)
    return err.set(TRIAGE_E_FORMAT, "arch.img_coarse %d != arch.img_full / 2 (%d)", cfg.Sc, cfg.Sf);
  if (cfg.P % 4 != 0 || cfg.Sc % cfg.P != 0)
    return err.set(TRIAGE_E_FORMAT, "arch.patch %d must be a multiple of 4 dividing img_coarse %d", cfg.P, cfg.Sc);
  cfg.p = cfg.P / 4;
  trw::Error e;
  std::span<const int64_t> sc;
  if (!m.f.get_i64_array("arch.stem_channels", sc, e))
    return err.set(TRIAGE_E_FORMAT, "metadata key 'arch.stem_channels': %s", e.message.c_str());
  if (sc.size() != 2) return err.set(TRIAGE_E_FORMAT, "arch.stem_channels must hold 2 values");
  for (int64_t v : sc)
    if (v < 1 || v > kMaxStemChannels)
      return err.set(TRIAGE_E_LIMIT, "arch.stem_channels value %lld outside [1, %d]", static_cast<long long>(v),
                     kMaxStemChannels);
  cfg.c1 = static_cast<int>(sc[0]);
  cfg.c2 = static_cast<int>(sc[1]);
  cfg.Wc = cfg.Sc / cfg.P;
  cfg.Gc = cfg.Wc * cfg.Wc;
  cfg.Wf = 2 * cfg.Wc;
  cfg.Gf = 4 * cfg.Gc;
  if (!m.range("arch.reuse_hidden", 1, kMaxDim * kMaxMlpRatio, cfg.Dr)) return false;
  if (!m.range("arch.topk", 0, cfg.Gc, cfg.K, false)) return false;
  if (!m.range("arch.rank_layers", 1, cfg.L, cfg.R, false)) return false;
  return load_skipping(m, cfg, err);
}

}  // namespace

bool load_config(const trw::File& file, ModelConfig& cfg, ModelText& text, Error& err, Region* from) {
  Meta m{file, err};
  cfg = ModelConfig{};
  text = ModelText{};
  std::string_view arch;
  if (!m.str("arch.name", arch)) return false;
  if (arch == "cfvit") {
    cfg.arch = Arch::CfVit;
    cfg.arch_name = "cfvit";
  } else if (arch == "vit") {
    cfg.arch = Arch::Vit;
    cfg.arch_name = "vit";
  } else {
    return err.set(TRIAGE_E_UNSUPPORTED, "arch.name '%.*s' is not cfvit or vit", shown(arch, 64), arch.data());
  }
  std::string_view model_name;
  if (file.find_meta("model.name") && !m.str("model.name", model_name)) return false;
  if (file.find_meta("converter.dtype")) {
    std::string_view dtype;
    if (!m.str("converter.dtype", dtype)) return false;
    if (!parse_dtype(dtype, cfg.dtype))
      return err.set(TRIAGE_E_UNSUPPORTED, "converter.dtype '%.*s' is not f32|f16|bf16|q8", shown(dtype, 32),
                     dtype.data());
    cfg.dtype_name = trw::dtype_name(cfg.dtype);
  }

  int mlp_ratio = 0;
  if (!m.range("arch.in_chans", 1, kMaxInChans, cfg.C) || !m.range("arch.img_full", 8, kMaxImgFull, cfg.Sf) ||
      !m.range("arch.patch", 1, kMaxPatch, cfg.P) || !m.range("arch.dim", 1, kMaxDim, cfg.D) ||
      !m.range("arch.heads", 1, kMaxHeads, cfg.H) || !m.range("arch.depth", 1, kMaxDepth, cfg.L) ||
      !m.range("arch.mlp_ratio", 1, kMaxMlpRatio, mlp_ratio))
    return false;
  if (cfg.D % cfg.H != 0) return err.set(TRIAGE_E_FORMAT, "arch.dim %d is not a multiple of arch.heads %d", cfg.D, cfg.H);
  cfg.hd = cfg.D / cfg.H;
  cfg.hidden = mlp_ratio * cfg.D;
  double eps = 1e-6;
  if (!m.f64("arch.ln_eps", eps)) return false;
  if (!(eps > 0) || eps > 1) return err.set(TRIAGE_E_FORMAT, "arch.ln_eps %g outside (0, 1]", eps);
  cfg.ln_eps = static_cast<float>(eps);

  if (cfg.arch == Arch::CfVit) {
    if (!load_cfvit(m, cfg, err)) return false;
  } else {
    if (cfg.Sf % cfg.P != 0) return err.set(TRIAGE_E_FORMAT, "arch.patch %d does not divide img_full %d", cfg.P, cfg.Sf);
    for (const char* key : {"arch.keep_coarse", "arch.skip_layer", "arch.keep_fine"})
      if (file.find_meta(key)) return err.set(TRIAGE_E_FORMAT, "%s is a cfvit key; this model is a plain vit", key);
    cfg.p = cfg.P;
    cfg.Wf = cfg.Sf / cfg.P;
    cfg.Gf = cfg.Wf * cfg.Wf;
  }
  if (cfg.Gf > kMaxGridTokens)
    return err.set(TRIAGE_E_LIMIT, "fine grid of %d tokens exceeds the cap %d", cfg.Gf, kMaxGridTokens);
  if (!load_labels(m, model_name, cfg, text, from, err) || !load_input(m, cfg, err) || !load_router(m, cfg)) return false;
  return true;
}

}  // namespace triage::rt
