// router.json <-> RouterKeys <-> .trw router.* keys.
#include "tools/convert/router_keys.h"

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/model_config.h"
#include "tools/convert/json_strict.h"
#include "weights_format/signed_file.h"

namespace triage::convert {
namespace {

using json = nlohmann::json;

bool only_keys(const json& o, std::initializer_list<const char*> allowed, const std::string& where, Error& err) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok |= it.key() == a;
    if (!ok) return fail(err, Errc::Config, where + ": unknown key " + quote_name(it.key()));
  }
  return true;
}

bool get_str(const json& o, const char* key, const std::string& where, std::string& out, Error& err) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return fail(err, Errc::Config, where + ": '" + key + "' must be a string");
  out = it->get<std::string>();
  if (out.size() > 256) return fail(err, Errc::Config, where + ": '" + key + "' longer than 256 bytes");
  return true;
}

bool get_threshold(const json& o, const char* key, const std::string& where, double& out, Error& err) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return fail(err, Errc::Config, where + ": '" + key + "' must be a number");
  out = it->get<double>();
  if (!std::isfinite(out) || out < 0 || out > 2)
    return fail(err, Errc::Config, where + ": '" + key + "' must be in [0, 2] (2 = never)");
  return true;
}

std::string meta_str(const trw::File& f, const char* key) {
  const trw::MetaValue* v = f.find_meta(key);
  return v && v->type == trw::MetaType::Str ? std::string(v->s) : std::string();
}

}  // namespace

bool parse_router_json(std::string_view text, const std::string& what, RouterKeys& out, Error& err) {
  json j;
  JsonLimits lim;
  lim.max_values = 1u << 16;
  if (!parse_json_strict(text, lim, what, 0, j, err)) {
    err.code = Errc::Config;
    return false;
  }
  if (!j.is_object()) return fail(err, Errc::Config, what + ": not a JSON object");
  if (!only_keys(j, {"format", "format_version", "model_name", "calibrated_for", "router", "provenance"}, what, err))
    return false;
  std::string format;
  if (!get_str(j, "format", what, format, err)) return false;
  auto ver = j.find("format_version");
  if (format != "triage-router" || ver == j.end() || !ver->is_number_integer() || ver->get<int64_t>() != 1)
    return fail(err, Errc::Config, what + ": not a triage-router file of format_version 1");
  RouterKeys k;
  if (!get_str(j, "model_name", what, k.model_name, err)) return false;
  auto cf = j.find("calibrated_for");
  if (cf == j.end() || !cf->is_object()) return fail(err, Errc::Config, what + ": 'calibrated_for' must be an object");
  const std::string wcf = what + ": calibrated_for";
  if (!only_keys(*cf, {"source_sha256", "config_sha256", "dtype"}, wcf, err) ||
      !get_str(*cf, "source_sha256", wcf, k.source_sha256, err) || !get_str(*cf, "config_sha256", wcf, k.config_sha256, err) ||
      !get_str(*cf, "dtype", wcf, k.dtype, err))
    return false;
  auto r = j.find("router");
  if (r == j.end() || !r->is_object()) return fail(err, Errc::Config, what + ": 'router' must be an object");
  const std::string wr = what + ": router";
  if (!only_keys(*r, {"calibrated", "coarse_good_threshold", "coarse_defect_threshold", "fine_good_threshold", "review_threshold",
                      "class_review_thresholds", "ood_coarse_threshold", "ood_fine_threshold", "ood_input_mean_lo",
                      "ood_input_mean_hi", "ood_input_std_lo", "ood_input_std_hi", "ood_false_flag_rate"},
                 wr, err))
    return false;
  auto cal = r->find("calibrated");
  if (cal == r->end() || !cal->is_number_integer() || (cal->get<int64_t>() != 0 && cal->get<int64_t>() != 1))
    return fail(err, Errc::Config, wr + ": 'calibrated' must be 0 or 1");
  k.calibrated = cal->get<int64_t>();
  if (!get_threshold(*r, "coarse_good_threshold", wr, k.coarse_good, err) ||
      !get_threshold(*r, "coarse_defect_threshold", wr, k.coarse_defect, err) ||
      !get_threshold(*r, "fine_good_threshold", wr, k.fine_good, err) ||
      !get_threshold(*r, "review_threshold", wr, k.review, err))
    return false;
  if (auto cr = r->find("class_review_thresholds"); cr != r->end()) {
    if (!cr->is_array() || cr->empty() || cr->size() > 1024)
      return fail(err, Errc::Config, wr + ": 'class_review_thresholds' must be an array of 1..1024 numbers");
    for (size_t i = 0; i < cr->size(); ++i) {
      const json one = {{"v", (*cr)[i]}};
      double v = 0;
      if (!get_threshold(one, "v", wr + ": class_review_thresholds[" + std::to_string(i) + "]", v, err)) return false;
      k.class_review.push_back(v);
    }
  }
  const std::pair<const char*, double*> ood_keys[] = {
      {"ood_coarse_threshold", &k.ood_coarse}, {"ood_fine_threshold", &k.ood_fine}, {"ood_input_mean_lo", &k.ood_mean_lo},
      {"ood_input_mean_hi", &k.ood_mean_hi},   {"ood_input_std_lo", &k.ood_std_lo}, {"ood_input_std_hi", &k.ood_std_hi}};
  size_t n_ood = 0;
  for (const auto& [key, out] : ood_keys) n_ood += r->contains(key);
  if (n_ood != 0 && n_ood != std::size(ood_keys))
    return fail(err, Errc::Config, wr + ": the ood_* thresholds come together (all six or none)");
  if (n_ood) {
    k.has_ood = true;
    for (const auto& [key, out] : ood_keys) {
      const json& v = (*r)[key];
      if (!v.is_number() || !(std::fabs(v.get<double>()) <= 1e6))
        return fail(err, Errc::Config, wr + ": '" + key + "' must be a number in [-1e6, 1e6]");
      *out = v.get<double>();
    }
    if (!(k.ood_mean_lo <= k.ood_mean_hi) || !(k.ood_std_lo <= k.ood_std_hi))
      return fail(err, Errc::Config, wr + ": an ood_input_*_lo is above its _hi");
    if (auto ff = r->find("ood_false_flag_rate"); ff != r->end()) {
      if (!ff->is_number() || !(ff->get<double>() >= 0.0 && ff->get<double>() <= 1.0))
        return fail(err, Errc::Config, wr + ": 'ood_false_flag_rate' must be a number in [0, 1]");
      k.ood_false_flag = ff->get<double>();
    }
  } else if (r->contains("ood_false_flag_rate")) {
    return fail(err, Errc::Config, wr + ": 'ood_false_flag_rate' without OOD thresholds");
  }
  auto p = j.find("provenance");
  if (p == j.end() || !p->is_object()) return fail(err, Errc::Config, what + ": 'provenance' must be an object");
  k.provenance = p->dump(-1, ' ', false, json::error_handler_t::replace);
  out = std::move(k);
  return true;
}

std::string router_json(const RouterKeys& k) {
  nlohmann::ordered_json j;
  j["format"] = "triage-router";
  j["format_version"] = 1;
  j["model_name"] = k.model_name;
  j["calibrated_for"] = {{"source_sha256", k.source_sha256}, {"config_sha256", k.config_sha256}, {"dtype", k.dtype}};
  j["router"] = {{"calibrated", k.calibrated},
                 {"coarse_good_threshold", k.coarse_good},
                 {"coarse_defect_threshold", k.coarse_defect},
                 {"fine_good_threshold", k.fine_good},
                 {"review_threshold", k.review}};
  if (!k.class_review.empty()) j["router"]["class_review_thresholds"] = k.class_review;
  if (k.has_ood) {
    j["router"]["ood_coarse_threshold"] = k.ood_coarse;
    j["router"]["ood_fine_threshold"] = k.ood_fine;
    j["router"]["ood_input_mean_lo"] = k.ood_mean_lo;
    j["router"]["ood_input_mean_hi"] = k.ood_mean_hi;
    j["router"]["ood_input_std_lo"] = k.ood_std_lo;
    j["router"]["ood_input_std_hi"] = k.ood_std_hi;
    j["router"]["ood_false_flag_rate"] = k.ood_false_flag;
  }
  j["provenance"] = nlohmann::ordered_json::parse(k.provenance, nullptr, false);
  if (j["provenance"].is_discarded()) j["provenance"] = nlohmann::ordered_json::object();
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

void identify_model(const trw::File& f, RouterKeys& k) {
  k.model_name = meta_str(f, "model.name");
  k.source_sha256 = meta_str(f, "source.sha256");
  k.config_sha256 = meta_str(f, "source.config_sha256");
  k.dtype = meta_str(f, "converter.dtype");
}

bool router_matches(const RouterKeys& k, const trw::File& f, std::string& why) {
  RouterKeys m;
  identify_model(f, m);
  const struct {
    const char* what;
    const std::string &want, &have;
  } checks[] = {{"model.name", k.model_name, m.model_name},
                {"source.sha256 (checkpoint)", k.source_sha256, m.source_sha256},
                {"source.config_sha256", k.config_sha256, m.config_sha256},
                {"converter.dtype", k.dtype, m.dtype}};
  for (const auto& c : checks)
    if (c.want != c.have) {
      why = std::string("calibrated for ") + c.what + " " + quote_name(c.want) + ", this model has " + quote_name(c.have);
      return false;
    }
  return true;
}

void set_router_keys(const RouterKeys& k, trw::Writer& w) {
  w.set_i64("router.calibrated", k.calibrated);
  w.set_f64("router.coarse_good_threshold", k.coarse_good);
  w.set_f64("router.coarse_defect_threshold", k.coarse_defect);
  w.set_f64("router.fine_good_threshold", k.fine_good);
  w.set_f64("router.review_threshold", k.review);
  if (k.class_review.empty()) w.erase("router.class_review_thresholds");  // no stale per-class values
  else w.set_f64_array("router.class_review_thresholds", k.class_review);
  for (const char* key : rt::kOodKeys) w.erase(key);  // no stale OOD values either
  w.erase("router.ood_false_flag_rate");
  if (k.has_ood) {
    const double vals[] = {k.ood_coarse, k.ood_fine, k.ood_mean_lo, k.ood_mean_hi, k.ood_std_lo, k.ood_std_hi};
    for (size_t i = 0; i < std::size(rt::kOodKeys); ++i) w.set_f64(rt::kOodKeys[i], vals[i]);
    w.set_f64("router.ood_false_flag_rate", k.ood_false_flag);
  }
  w.set_str("router.provenance", k.provenance);
}

bool copy_model(const trw::File& f, trw::Writer& w, Error& err) {
  w.set_required_features(f.required_features());
  w.set_optional_features(f.optional_features());
  w.copy_metadata_from(f);
  for (const trw::TensorView& t : f.tensors())
    if (!copy_tensor(t, w, err)) return false;
  return true;
}

bool copy_tensor(const trw::TensorView& t, trw::Writer& w, Error& err) {
  const bool q8 = t.dtype == trw::DType::Q8;
  std::vector<float> scales(q8 ? static_cast<size_t>(t.dims[0]) : 0);
  if (!scales.empty()) std::memcpy(scales.data(), t.scales, 4 * scales.size());
  const uint64_t n = q8 ? t.numel : t.nbytes;
  trw::Error terr;
  if (!w.add_tensor(std::string(t.name), t.dtype, {t.dims, t.rank}, {t.data, static_cast<size_t>(n)}, terr, scales))
    return fail(err, Errc::Output, "copying tensor " + quote_name(t.name) + ": " + terr.message);
  return true;
}

bool apply_router_to_output(const std::string& path, const RouterKeys& k, std::string& warning, Error& err) {
  warning.clear();
  trw::Buffer buf;
  trw::File f;
  trw::Error terr;
  if (!buf.read_file(path, terr) || !trw::parse_model_part(buf.span(), f, terr))
    return fail(err, Errc::Output, path + ": re-reading the converted file: " + terr.message);
  std::string why;
  if (!router_matches(k, f, why)) {
    warning = "router file not applied (" + why + "): the model is written uncalibrated; re-run triage calibrate";
    return true;
  }
  std::vector<std::string> labels;
  if (!k.class_review.empty() && (!f.get_str_array("labels", labels, terr) || labels.size() != k.class_review.size()))
    return fail(err, Errc::Config, "router file: " + std::to_string(k.class_review.size()) +
                                       " class_review_thresholds for a model of " + std::to_string(labels.size()) + " classes");
  trw::Writer w;
  if (!copy_model(f, w, err)) return false;
  set_router_keys(k, w);
  if (!w.write_file(path, terr)) return fail(err, Errc::Output, path + ": " + terr.message);
  return true;
}

}  // namespace triage::convert
