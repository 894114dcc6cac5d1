#include "tools/convert/model_config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "tools/convert/json_strict.h"

namespace triage::convert {
namespace {

using json = nlohmann::json;

struct Reader {
  std::string what;
  Error& err;

  bool bad(const std::string& key, const std::string& msg) {
    return fail(err, Errc::Config, what + ": " + key + ": " + msg);
  }
  const json* need(const json& obj, const char* key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end()) {
      bad(path, "missing");
      return nullptr;
    }
    return &*it;
  }
  // An integer in [lo, hi]; an integral float such as 4.0 (PyTorch configs write mlp_ratio so) counts.
  bool get_int(const json& obj, const char* key, const std::string& prefix, int64_t lo, int64_t hi,
               int64_t& out) {
    const std::string path = prefix + key;
    const json* v = need(obj, key, path);
    if (!v) return false;
    bool ok = false;
    if (v->is_number_integer()) {
      if (v->is_number_unsigned()) {
        uint64_t u = v->get<uint64_t>();
        ok = u <= static_cast<uint64_t>(hi);
        out = ok ? static_cast<int64_t>(u) : 0;
      } else {
        out = v->get<int64_t>();
        ok = true;
      }
    } else if (v->is_number_float()) {
      double d = v->get<double>();
      ok = std::isfinite(d) && d == std::floor(d) && d >= double(lo) && d <= double(hi);
      out = ok ? static_cast<int64_t>(d) : 0;
    }
    if (!ok || out < lo || out > hi)
      return bad(path, "must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    return true;
  }
  // A finite number in (lo, hi] when lo_open, else [lo, hi].
  bool get_num(const json& obj, const char* key, const std::string& prefix, double lo, double hi, bool lo_open,
               double& out) {
    const std::string path = prefix + key;
    const json* v = need(obj, key, path);
    if (!v) return false;
    if (!v->is_number()) return bad(path, "must be a number");
    out = v->get<double>();
    bool ok = std::isfinite(out) && out <= hi && (lo_open ? out > lo : out >= lo);
    if (!ok)
      return bad(path, std::string("must be a finite number in ") + (lo_open ? "(" : "[") + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
    return true;
  }
  bool get_str(const json& obj, const char* key, const std::string& prefix, std::string& out) {
    const std::string path = prefix + key;
    const json* v = need(obj, key, path);
    if (!v) return false;
    if (!v->is_string()) return bad(path, "must be a string");
    out = v->get<std::string>();
    if (out.empty() || out.size() > kMaxLabelLen || out.find('\0') != std::string::npos)
      return bad(path, "must be 1.." + std::to_string(kMaxLabelLen) + " bytes, no NUL");
    return true;
  }
  // Every key of obj must be in allowed; lists all the others.
  bool only_keys(const json& obj, const std::set<std::string>& allowed, const std::string& path) {
    std::string extra;
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.count(it.key())) extra += (extra.empty() ? "" : ", ") + quote_name(it.key());
    if (!extra.empty()) return bad(path, "unknown keys " + extra);
    return true;
  }
};

bool parse_arch(const json& a, Reader& r, ArchConfig& c) {
  if (!a.is_object()) return r.bad("arch", "must be an object");
  if (!r.get_str(a, "name", "arch.", c.name)) return false;
  if (c.name == "cfvit") c.arch = Arch::CfVit;
  else if (c.name == "vit") c.arch = Arch::Vit;
  else return r.bad("arch.name", "must be \"cfvit\" or \"vit\", not " + quote_name(c.name));
  const bool cf = c.arch == Arch::CfVit;
  std::set<std::string> keys = {"name", "in_chans", "img_full", "patch", "dim", "heads", "depth", "mlp_ratio",
                                "ln_eps"};
  if (cf)
    keys.insert({"img_coarse", "stem_channels", "reuse_hidden", "topk", "rank_layers", "bn_eps", "keep_coarse",
                 "skip_layer", "keep_fine"});
  if (!r.only_keys(a, keys, "arch")) return false;

  const std::string p = "arch.";
  if (!r.get_int(a, "in_chans", p, 1, kMaxInChans, c.in_chans) ||
      !r.get_int(a, "img_full", p, 1, kMaxImage, c.img_full) ||
      !r.get_int(a, "patch", p, 1, kMaxPatch, c.patch) || !r.get_int(a, "dim", p, 1, kMaxDim, c.dim) ||
      !r.get_int(a, "heads", p, 1, kMaxHeads, c.heads) || !r.get_int(a, "depth", p, 1, kMaxDepth, c.depth) ||
      !r.get_int(a, "mlp_ratio", p, 1, kMaxMlpRatio, c.mlp_ratio) ||
      !r.get_num(a, "ln_eps", p, 0.0, 1.0, true, c.ln_eps))
    return false;
  if (c.dim % c.heads != 0)
    return r.bad("arch.heads", std::to_string(c.heads) + " does not divide dim " + std::to_string(c.dim));
  if (c.img_full % c.patch != 0)
    return r.bad("arch.patch", std::to_string(c.patch) + " does not divide img_full " + std::to_string(c.img_full));
  if (c.grid_full() > kMaxTokens)
    return r.bad("arch.patch", "img_full / patch gives " + std::to_string(c.grid_full()) +
                                   " tokens, above the cap of " + std::to_string(kMaxTokens));
  if (!cf) return true;

  if (!r.get_int(a, "img_coarse", p, 1, kMaxImage, c.img_coarse) ||
      !r.get_int(a, "reuse_hidden", p, 1, kMaxReuseHidden, c.reuse_hidden) ||
      !r.get_int(a, "rank_layers", p, 1, c.depth, c.rank_layers) ||
      !r.get_num(a, "bn_eps", p, 0.0, 1.0, true, c.bn_eps))
    return false;
  if (c.img_full != 2 * c.img_coarse)
    return r.bad("arch.img_coarse", "must be img_full / 2 (" + std::to_string(c.img_full) + " / 2), not " +
                                        std::to_string(c.img_coarse));
  if (c.patch % 4 != 0)
    return r.bad("arch.patch", "must be a multiple of 4 (two stride-2 stem convs), not " + std::to_string(c.patch));
  if (c.img_coarse % c.patch != 0)
    return r.bad("arch.patch", std::to_string(c.patch) + " does not divide img_coarse " +
                                   std::to_string(c.img_coarse));
  if (!r.get_int(a, "topk", p, 0, c.grid_coarse(), c.topk)) return false;
  const json* sc = r.need(a, "stem_channels", "arch.stem_channels");
  if (!sc) return false;
  if (!sc->is_array() || sc->size() != 2) return r.bad("arch.stem_channels", "must be an array [c1, c2]");
  json wrap = {{"c1", (*sc)[0]}, {"c2", (*sc)[1]}};
  int64_t c1 = 0, c2 = 0;
  if (!r.get_int(wrap, "c1", "arch.stem_channels.", 1, kMaxStemChannels, c1) ||
      !r.get_int(wrap, "c2", "arch.stem_channels.", 1, kMaxStemChannels, c2))
    return false;
  c.stem_channels = {c1, c2};
  // Token skipping: keep_coarse and skip_layer together (K <= keep_coarse < Gc, 1 <= skip_layer <=
  // depth - rank_layers), keep_fine alone (0 <= keep_fine < Gc - K). The engine checks the same.
  const bool kc = a.contains("keep_coarse"), sl = a.contains("skip_layer");
  if (kc != sl) return r.bad(kc ? "arch.skip_layer" : "arch.keep_coarse", "token skipping needs keep_coarse and skip_layer together");
  if (kc) {
    if (c.topk >= c.grid_coarse() || c.depth - c.rank_layers < 1)
      return r.bad("arch.keep_coarse", "token skipping needs topk below the coarse patches and a block before the ranking layers");
    if (!r.get_int(a, "keep_coarse", p, std::max<int64_t>(c.topk, 1), c.grid_coarse() - 1, c.keep_coarse) ||
        !r.get_int(a, "skip_layer", p, 1, c.depth - c.rank_layers, c.skip_layer))
      return false;
  }
  if (a.contains("keep_fine")) {
    if (c.topk >= c.grid_coarse()) return r.bad("arch.keep_fine", "needs topk below the coarse patches");
    if (!r.get_int(a, "keep_fine", p, 0, c.grid_coarse() - c.topk - 1, c.keep_fine)) return false;
  }
  return true;
}

bool parse_input(const json& in, Reader& r, InputSpec& s) {
  if (!in.is_object()) return r.bad("input", "must be an object");
  if (!r.only_keys(in, {"channels", "max_value_u8", "max_value_u16", "mean", "std"}, "input")) return false;
  const std::string p = "input.";
  return r.get_int(in, "channels", p, 1, kMaxInChans, s.channels) &&
         r.get_int(in, "max_value_u8", p, 1, 255, s.max_value_u8) &&
         r.get_int(in, "max_value_u16", p, 1, 65535, s.max_value_u16) &&
         r.get_num(in, "mean", p, -1e6, 1e6, false, s.mean) && r.get_num(in, "std", p, 0.0, 1e6, true, s.std);
}

}  // namespace

bool parse_model_config(std::string_view json_text, std::string_view what, ModelConfig& out, Error& err) {
  out = ModelConfig{};
  json root;
  if (!parse_json_strict(json_text, JsonLimits{8, 1u << 16}, what, 0, root, err)) return false;
  Reader r{std::string(what), err};
  if (!root.is_object()) return r.bad("(root)", "must be a JSON object");
  // Unknown top-level keys are allowed (training may record more); arch and input are strict.
  std::string format;
  int64_t version = 0;
  if (!r.get_str(root, "format", "", format)) return false;
  if (format != "triage-checkpoint-config")
    return r.bad("format", "must be \"triage-checkpoint-config\", not " + quote_name(format));
  if (!r.get_int(root, "format_version", "", 1, 1, version)) return false;
  if (!r.get_str(root, "model_name", "", out.model_name)) return false;
  const json* arch = r.need(root, "arch", "arch");
  if (!arch || !parse_arch(*arch, r, out.arch)) return false;

  const json* labels = r.need(root, "labels", "labels");
  if (!labels) return false;
  if (!labels->is_array() || labels->empty() || labels->size() > kMaxLabels)
    return r.bad("labels", "must be an array of 1.." + std::to_string(kMaxLabels) + " class names");
  std::set<std::string> seen;
  for (size_t i = 0; i < labels->size(); ++i) {
    const json& l = (*labels)[i];
    const std::string path = "labels[" + std::to_string(i) + "]";
    if (!l.is_string() || l.get<std::string>().empty() || l.get<std::string>().size() > kMaxLabelLen ||
        l.get<std::string>().find('\0') != std::string::npos)
      return r.bad(path, "must be a string of 1.." + std::to_string(kMaxLabelLen) + " bytes, no NUL");
    if (!seen.insert(l.get<std::string>()).second) return r.bad(path, "duplicate label " + quote_name(l.get<std::string>()));
    out.labels.push_back(l.get<std::string>());
  }
  // good_label null: the model has no good class (stored as the empty string; runtime/router.h).
  const json* good = r.need(root, "good_label", "good_label");
  if (!good) return false;
  if (good->is_null()) {
    out.good_label.clear();
  } else {
    if (!r.get_str(root, "good_label", "", out.good_label)) return false;
    if (!seen.count(out.good_label)) return r.bad("good_label", quote_name(out.good_label) + " is not in labels");
  }

  const json* input = r.need(root, "input", "input");
  if (!input || !parse_input(*input, r, out.input)) return false;
  if (out.input.channels != out.arch.in_chans)
    return r.bad("input.channels", std::to_string(out.input.channels) + " differs from arch.in_chans " +
                                       std::to_string(out.arch.in_chans));
  return true;
}

}  // namespace triage::convert
