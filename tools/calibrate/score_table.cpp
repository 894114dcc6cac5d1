// Runs the engine (C API) over a labelled set. Each image is read once: its bytes are hashed for the
// data hash and decoded; then every handle (one per forced route) classifies it.
#include "tools/calibrate/score_table.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "runtime/triage.h"
#include "tools/cli/image_io.h"
#include "tools/cli/text.h"
#include "tools/convert/file_io.h"
#include "tools/convert/sha256.h"
#include "weights_format/trw.h"
#include "weights_format/signed_file.h"

namespace triage::calib {
namespace {

using Clock = std::chrono::steady_clock;

struct Handle {
  triage_model* m = nullptr;
  ~Handle() { triage_close(m); }
};

bool open_handle(std::span<const uint8_t> bytes, const ScoreOptions& opt, uint32_t force, Handle& h, std::string& err) {
  triage_options o;
  triage_options_init(&o);
  o.threads = opt.threads;
  if (opt.allow_uncalibrated) o.flags |= TRIAGE_OPEN_ALLOW_UNCALIBRATED;
  o.force = force;
  const triage_status st = triage_open_memory(bytes.data(), bytes.size(), &o, &h.m);
  if (st != TRIAGE_OK) {
    err = std::string("cannot open the model: ") + cli::printable(triage_open_error()) + " (" + triage_status_name(st) + ")";
    return false;
  }
  return true;
}

std::string meta_str(const trw::File& f, const char* key) {
  const trw::MetaValue* v = f.find_meta(key);
  return v && v->type == trw::MetaType::Str ? std::string(v->s) : std::string();
}

bool classify(Handle& h, const triage_image& img, const std::string& path, triage_result& r, double* ms, std::string& err) {
  const auto t0 = Clock::now();
  const triage_status st = triage_classify(h.m, &img, &r);
  if (ms) *ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (st != TRIAGE_OK) {
    err = cli::printable(path) + ": " + cli::printable(triage_last_error(h.m)) + " (" + triage_status_name(st) + ")";
    return false;
  }
  return true;
}

// The energy of the last image into energy; its input statistics into mean / std when given.
bool ood_scores(Handle& h, float& energy, float* mean, float* std_dev, std::string& err) {
  float s[TRIAGE_OOD_SCORES];
  const triage_status st = triage_get_ood_scores(h.m, 0, s, TRIAGE_OOD_SCORES);
  if (st != TRIAGE_OK) {
    err = std::string("OOD scores: ") + cli::printable(triage_last_error(h.m)) + " (" + triage_status_name(st) + ")";
    return false;
  }
  energy = s[0];
  if (mean) *mean = s[1];
  if (std_dev) *std_dev = s[2];
  return true;
}

}  // namespace

bool score_dataset(const std::string& model_path, const std::vector<cli::LabelledFile>& data, const ScoreOptions& opt,
                   ScoreTable& table, TimedRuns* timed, ModelSummary& model, std::string& data_sha256, std::string& err) {
  trw::Buffer buf;
  trw::Error terr;
  trw::File file;
  if (!buf.read_file(model_path, terr) || !trw::parse_model_part(buf.span(), file, terr)) {
    err = cli::printable(model_path) + ": " + terr.message;
    return false;
  }
  Handle coarse, fine, routed, fine_all;
  if (!open_handle(buf.span(), opt, TRIAGE_FORCE_COARSE, coarse, err) ||
      !open_handle(buf.span(), opt, TRIAGE_FORCE_FINE, fine, err))
    return false;
  const bool want_timed = opt.timed && timed;
  if (want_timed && (!open_handle(buf.span(), opt, TRIAGE_FORCE_NONE, routed, err) ||
                     !open_handle(buf.span(), opt, TRIAGE_FORCE_FINE_ALL, fine_all, err)))
    return false;

  triage_model_info info{}, info_all{};
  info.struct_size = sizeof info;
  info_all.struct_size = sizeof info_all;
  triage_get_info(fine.m, &info);
  if (want_timed) triage_get_info(fine_all.m, &info_all);
  model = ModelSummary{};
  model.name = info.model_name;
  model.dtype = info.weight_dtype;
  model.isa = info.isa;
  model.source_sha256 = meta_str(file, "source.sha256");
  model.config_sha256 = meta_str(file, "source.config_sha256");
  model.tokens_coarse = info.tokens_coarse;
  model.tokens_fine = info.tokens_fine;
  model.tokens_fine_all = want_timed ? info_all.tokens_fine : 0;
  model.topk = info.topk;
  model.threads = info.threads;
  rt::RouterThresholds& th = model.router;
  th.calibrated = info.router_calibrated != 0;
  th.fail_safe = info.fail_safe != 0;
  th.coarse_good = info.coarse_good_threshold;
  th.coarse_defect = info.coarse_defect_threshold;
  th.fine_good = info.fine_good_threshold;
  th.review = info.review_threshold;
  if (info.class_review_thresholds)
    th.class_review.assign(info.class_review_thresholds, info.class_review_thresholds + info.num_classes);
  th.has_ood = info.ood_enabled != 0;
  if (th.has_ood) {
    th.ood_coarse = info.ood_coarse_threshold;
    th.ood_fine = info.ood_fine_threshold;
    th.ood_mean_lo = info.ood_input_mean_lo;
    th.ood_mean_hi = info.ood_input_mean_hi;
    th.ood_std_lo = info.ood_input_std_lo;
    th.ood_std_hi = info.ood_input_std_hi;
    th.ood_false_flag = info.ood_false_flag_rate;
  }

  table = ScoreTable{};
  table.ncls = static_cast<int>(info.num_classes);
  table.good = info.good_class;
  std::map<std::string, int> index;
  for (uint32_t c = 0; c < info.num_classes; ++c) {
    table.class_names.emplace_back(info.class_names[c]);
    index[info.class_names[c]] = static_cast<int>(c);
  }
  const size_t n = data.size(), k = static_cast<size_t>(table.ncls);
  table.label.resize(n);
  for (size_t i = 0; i < n; ++i) {
    auto it = index.find(data[i].label);
    if (it == index.end()) {
      std::string names;
      for (const auto& c : table.class_names) names += (names.empty() ? "" : ", ") + c;
      err = cli::printable(data[i].path) + ": label '" + cli::printable(data[i].label) + "' is not a class of " +
            cli::printable(model.name) + " (" + cli::printable(names) + ")";
      return false;
    }
    table.label[i] = it->second;
  }
  table.coarse.resize(n * k);
  table.fine.resize(n * k);
  table.coarse_ood.resize(n);
  table.fine_ood.resize(n);
  table.in_mean.resize(n);
  table.in_std.resize(n);
  if (want_timed) {
    *timed = TimedRuns{};
    timed->routed_class.resize(n);
    timed->routed_fine.resize(n);
    timed->routed_review.resize(n);
    timed->routed_unknown.resize(n);
    timed->routed_confidence.resize(n);
    timed->routed_tokens.resize(n);
    timed->fine_all_tokens.resize(n);
    timed->routed_ms.resize(n);
    timed->fine_all_ms.resize(n);
    timed->fine_all_class.resize(n);
  }

  std::vector<std::string> hash_lines(n);
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < n; ++i) {
    const std::string& path = data[i].path;
    convert::Error cerr;
    if (!convert::read_file_bytes(path, cli::kMaxImageFileBytes, bytes, cerr)) {
      err = cli::printable(cerr.message);
      return false;
    }
    hash_lines[i] = convert::sha256_hex(bytes) + " " + data[i].label + "\n";
    cli::Image img;
    std::string derr;
    if (!cli::decode_image(bytes, img, derr) || !cli::convert_channels(img, info.in_channels, derr)) {
      err = cli::printable(path) + ": " + cli::printable(derr);
      return false;
    }
    const triage_image v = img.view();
    triage_result r;
    if (want_timed) {  // routed and fine-all first, timed, then the untimed forced passes
      if (!classify(routed, v, path, r, &timed->routed_ms[i], err)) return false;
      timed->routed_class[i] = r.class_index;
      timed->routed_fine[i] = r.route == TRIAGE_ROUTE_FINE;
      timed->routed_review[i] = r.review != 0;
      timed->routed_unknown[i] = r.unknown != 0;
      timed->routed_confidence[i] = r.confidence;
      timed->routed_tokens[i] = r.tokens;
      if (!classify(fine_all, v, path, r, &timed->fine_all_ms[i], err)) return false;
      timed->fine_all_class[i] = r.class_index;
      timed->fine_all_tokens[i] = r.tokens;
    }
    if (!classify(coarse, v, path, r, nullptr, err)) return false;
    std::memcpy(table.coarse.data() + i * k, r.probabilities, k * sizeof(float));
    if (!ood_scores(coarse, table.coarse_ood[i], &table.in_mean[i], &table.in_std[i], err)) return false;
    if (!classify(fine, v, path, r, nullptr, err)) return false;
    std::memcpy(table.fine.data() + i * k, r.probabilities, k * sizeof(float));
    if (!ood_scores(fine, table.fine_ood[i], nullptr, nullptr, err)) return false;
    if (opt.progress) opt.progress(i + 1, n);
  }
  std::sort(hash_lines.begin(), hash_lines.end());
  convert::Sha256 h;
  for (const std::string& l : hash_lines) h.update({reinterpret_cast<const uint8_t*>(l.data()), l.size()});
  const auto digest = h.finish();
  data_sha256 = convert::to_hex(digest);
  return true;
}

}  // namespace triage::calib
