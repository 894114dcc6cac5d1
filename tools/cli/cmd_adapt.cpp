// triage adapt: a new classification head fitted on the tool's CPU from a few labelled images, no Python.
// The backbone is the model's; only head.weight / head.bias (shared by the coarse and the fine pass)
// change. Method and choices: tools/adapt/*.h and the usage text below.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/triage.h"
#include "runtime/version.h"
#include "tools/adapt/extract_features.h"
#include "tools/adapt/nearest_mean.h"
#include "tools/adapt/softmax_regression.h"
#include "tools/adapt/write_adapted.h"
#include "tools/calibrate/progress_bar.h"
#include "tools/cli/args.h"
#include "tools/cli/audit_log.h"
#include "tools/cli/commands.h"
#include "tools/cli/dataset.h"
#include "tools/cli/text.h"
#include "weights_format/trw.h"
#include "weights_format/signed_file.h"

namespace triage::cli {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// Images per class each method needs (see the usage text).
constexpr int kMinLogregImages = 5;
constexpr int kMinNcmImages = 2;
// At most this many images per run (training or held-out): their features (2 x D floats each) stay in
// memory, and the row counts stay far inside int.
constexpr size_t kMaxAdaptImages = 200'000;

constexpr const char* kUsage =
    "usage: triage adapt MODEL.trw --data LABELS.csv|DIR -o NEW.trw [--classes keep|replace|add]\n"
    "                    [--good LABEL|none] [--holdout LABELS.csv|DIR] [--method auto|logreg|ncm]\n"
    "                    [--lambda L] [--features-csv F.csv] [--threads N] [--json] [--progress]\n"
    "  Fits a new classification head for MODEL on labelled images and writes NEW.trw (atomically; never\n"
    "  MODEL itself): the same backbone, a new head.weight / head.bias in the model's weight type, the new\n"
    "  class list, and provenance (adapt.provenance: data hash, counts per class, method, date, tool\n"
    "  version, held-out accuracy). The router is reset to uncalibrated: run triage calibrate on NEW.trw.\n"
    "  Features: every image runs through the model's own kernels with the fine pass forced; the final-norm\n"
    "  class token of the coarse pass and of the fine pass are two training rows with the image's label.\n"
    "  The model family has one head shared by both passes, so one head fitted on both rows serves both and\n"
    "  routing keeps working.\n"
    "  Methods:\n"
    "    logreg  multinomial logistic regression, L2 towards the prior head (the old head's rows for classes\n"
    "            it had, 0 for new ones), classes weighted equally, L-BFGS in double precision; lambda by\n"
    "            5-fold cross-validation by image (stratified) on the held-out log-loss, unless --lambda.\n"
    "            Needs >= 5 images of every class in the data.\n"
    "    ncm     nearest class mean with a temperature fitted on the leave-one-image-out log-loss (an exact\n"
    "            linear head). Needs >= 2 images of every class of the new head.\n"
    "    auto    (default) logreg when every class in the data has >= 5 images, else ncm when it can run.\n"
    "  --classes keep     re-fit the model's classes on new data (drift); every label must be a model class\n"
    "            add      keep the model's classes and add the data's new labels (a new defect type): the old\n"
    "                     rows stay exactly as they are (logreg) and the new rows are fitted against the\n"
    "                     data's images of old classes, so the data must hold some (>= 5 of a class)\n"
    "            replace  a new class set: the data's labels, sorted (a new tool)\n"
    "  --good LABEL|none  the good (no-defect) class of NEW.trw (default: the model's, when it is a class of\n"
    "                     NEW.trw; replace: the model's good label if the data has it, else none)\n"
    "  --holdout          labelled images (classes of NEW.trw) scored with the stored head; the accuracy of\n"
    "                     each pass goes into the report and the provenance\n"
    "  --features-csv F   also write the training features (label,pass,f0..fD-1) for an outside check\n"
    "  --threads N        engine threads for the feature pass (default 1)\n"
    "  --json             print the report as one JSON object\n"
    "  Limits: 200,000 images for --data and for --holdout, 256 classes.\n";

bool parse_num(const std::string& s, double lo, double hi, double& out) {
  if (s.empty() || s.size() > 64) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < lo || v > hi) return false;
  out = v;
  return true;
}

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

void write_features_csv(const std::string& path, const adapt::FeatureSet& fs, const std::vector<int>& y,
                        const std::vector<std::string>& labels, std::string& err) {
  std::string text = "label,pass";
  for (int j = 0; j < fs.dim; ++j) text += ",f" + std::to_string(j);
  text += "\n";
  const int rows = static_cast<int>(y.size());
  char b[32];
  for (int r = 0; r < rows; ++r) {
    text += labels[y[r]];
    text += fs.rows_per_image == 1 ? ",fine" : (r % 2 == 0 ? ",coarse" : ",fine");
    for (int j = 0; j < fs.dim; ++j) {
      std::snprintf(b, sizeof b, ",%.9g", fs.x[static_cast<size_t>(r) * fs.dim + j]);
      text += b;
    }
    text += "\n";
  }
  trw::Error terr;
  if (!trw::write_file_atomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, terr))
    err = path + ": " + terr.message;
}

// Accuracy of a head per pass on a feature set (rows interleaved coarse, fine).
void pass_accuracy(const adapt::FeatureSet& fs, const std::vector<int>& y, const adapt::Head& h, int k, double& coarse,
                   double& fine) {
  adapt::Problem p;
  p.n = static_cast<int>(y.size());
  p.d = fs.dim;
  p.k = k;
  p.x = fs.x.data();
  p.y = y.data();
  std::vector<int> rc, rf;
  for (int r = 0; r < p.n; ++r) ((fs.rows_per_image == 2 && r % 2 == 0) ? rc : rf).push_back(r);
  coarse = -1;
  if (!rc.empty()) adapt::evaluate_head(p, h, rc, nullptr, &coarse);
  adapt::evaluate_head(p, h, rf, nullptr, &fine);
}

}  // namespace

int cmd_adapt(int argc, char** argv) {
  Args a;
  std::string error;
  const std::vector<OptSpec> specs = {
      {"--data", nullptr, true},   {"--output", "-o", true},  {"--classes", nullptr, true}, {"--good", nullptr, true},
      {"--holdout", nullptr, true}, {"--method", nullptr, true}, {"--lambda", nullptr, true}, {"--features-csv", nullptr, true},
      {"--threads", nullptr, true}, {"--json", nullptr, false}, {"--progress", nullptr, false}, {"--help", "-h", false}};
  if (!parse_args(argc, argv, specs, a, error)) {
    std::fprintf(stderr, "triage adapt: %s (see triage adapt --help)\n", error.c_str());
    return 2;
  }
  if (a.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (a.positional.size() != 1 || !a.has("--data") || !a.has("--output")) {
    std::fprintf(stderr, "triage adapt: need MODEL.trw, --data and -o (see --help)\n");
    return 2;
  }
  const std::string mode = a.get("--classes", "keep"), method_opt = a.get("--method", "auto");
  if (mode != "keep" && mode != "add" && mode != "replace") {
    std::fprintf(stderr, "triage adapt: --classes must be keep, add or replace\n");
    return 2;
  }
  if (method_opt != "auto" && method_opt != "logreg" && method_opt != "ncm") {
    std::fprintf(stderr, "triage adapt: --method must be auto, logreg or ncm\n");
    return 2;
  }
  double v = 0;
  uint32_t threads = 1;
  if (a.has("--threads")) {
    if (!parse_num(a.get("--threads"), 1, TRIAGE_MAX_THREADS, v) || v != std::floor(v)) {
      std::fprintf(stderr, "triage adapt: --threads must be 1..%u\n", TRIAGE_MAX_THREADS);
      return 2;
    }
    threads = static_cast<uint32_t>(v);
  }
  double lambda_fixed = -1;
  if (a.has("--lambda") && !parse_num(a.get("--lambda"), 1e-8, 1e4, lambda_fixed)) {
    std::fprintf(stderr, "triage adapt: --lambda must be in [1e-8, 1e4]\n");
    return 2;
  }
  const std::string model_path = a.positional[0], out_path = a.get("--output"), csv_path = a.get("--features-csv");
  for (const std::string& in : {model_path, a.get("--data"), a.get("--holdout")}) {
    if (in.empty()) continue;
    if (trw::same_file(out_path, in) || (!csv_path.empty() && trw::same_file(csv_path, in))) {
      std::fprintf(stderr, "triage adapt: refusing to overwrite the input %s\n", printable(in).c_str());
      return 1;
    }
  }
  if (!csv_path.empty() && csv_path == out_path) {
    std::fprintf(stderr, "triage adapt: -o and --features-csv name the same file\n");
    return 2;
  }

  // The base model: its classes, good class and head (the prior).
  trw::Buffer buf;
  trw::File base;
  trw::Error terr;
  if (!buf.read_file(model_path, terr) || !trw::parse_model_part(buf.span(), base, terr)) {
    std::fprintf(stderr, "triage adapt: %s: %s\n", printable(model_path).c_str(), printable(terr.message).c_str());
    return 1;
  }
  std::vector<std::string> old_labels;
  std::string old_good, model_name;
  base.get_str_array("labels", old_labels, terr);
  base.get_str("good_label", old_good, terr);
  base.get_str("model.name", model_name, terr);
  adapt::Head old_head;
  if (old_labels.empty() || !adapt::read_head(base, old_head, error) || old_head.bias.size() != old_labels.size()) {
    std::fprintf(stderr, "triage adapt: %s: %s\n", printable(model_path).c_str(),
                 error.empty() ? "no class list matching its head" : printable(error).c_str());
    return 1;
  }
  const int D = static_cast<int>(old_head.weight.size() / old_head.bias.size());

  std::vector<LabelledFile> data, holdout;
  if (!load_dataset(a.get("--data"), data, error) || (a.has("--holdout") && !load_dataset(a.get("--holdout"), holdout, error))) {
    std::fprintf(stderr, "triage adapt: %s\n", error.c_str());
    return 1;
  }
  if (data.size() > kMaxAdaptImages || holdout.size() > kMaxAdaptImages) {
    std::fprintf(stderr, "triage adapt: %zu training / %zu held-out images: at most %zu each\n", data.size(),
                 holdout.size(), kMaxAdaptImages);
    return 1;
  }
  if (data.empty()) {
    std::fprintf(stderr, "triage adapt: %s holds no labelled images\n", printable(a.get("--data")).c_str());
    return 1;
  }
  // Labels become class names in the model file and in every report: printable text only.
  for (const std::vector<LabelledFile>* set : {&data, &holdout})
    for (const LabelledFile& f : *set)
      if (printable(f.label) != f.label) {
        std::fprintf(stderr, "triage adapt: %s: label '%s' holds control characters (a class name must be printable)\n",
                     printable(f.path).c_str(), printable(f.label).c_str());
        return 1;
      }

  // The new class list.
  std::vector<std::string> labels;
  std::set<std::string> data_labels;
  for (const LabelledFile& f : data) data_labels.insert(f.label);
  const std::set<std::string> old_set(old_labels.begin(), old_labels.end());
  if (mode == "keep" || mode == "add") {
    labels = old_labels;
    std::vector<std::string> fresh;
    for (const std::string& l : data_labels)
      if (!old_set.count(l)) fresh.push_back(l);
    if (mode == "keep" && !fresh.empty()) {
      std::fprintf(stderr, "triage adapt: label '%s' is not a class of %s: use --classes add (new defect type) or "
                   "--classes replace (new class set)\n", printable(fresh[0]).c_str(), printable(model_name).c_str());
      return 1;
    }
    if (mode == "add" && fresh.empty()) {
      std::fprintf(stderr, "triage adapt: --classes add: the data holds no label the model lacks (use --classes keep)\n");
      return 1;
    }
    labels.insert(labels.end(), fresh.begin(), fresh.end());  // sorted (std::set order)
    if (mode == "add" && fresh.size() == data_labels.size()) {
      std::fprintf(stderr, "triage adapt: --classes add: the data holds only new classes; add images of the model's "
                   "own classes (the new class is fitted against them; without them it would win everywhere)\n");
      return 1;
    }
  } else {
    labels.assign(data_labels.begin(), data_labels.end());
    if (labels.size() < 2) {
      std::fprintf(stderr, "triage adapt: --classes replace needs at least 2 classes in the data (it has %zu)\n", labels.size());
      return 1;
    }
  }
  if (labels.size() > 256) {
    std::fprintf(stderr, "triage adapt: %zu classes (at most 256)\n", labels.size());
    return 1;
  }
  std::map<std::string, int> index;
  for (size_t c = 0; c < labels.size(); ++c) index[labels[c]] = static_cast<int>(c);
  std::string good;
  if (a.has("--good")) {
    good = a.get("--good") == "none" ? "" : a.get("--good");
    if (!good.empty() && !index.count(good)) {
      std::fprintf(stderr, "triage adapt: --good '%s' is not a class of the new model\n", printable(good).c_str());
      return 1;
    }
  } else {
    good = index.count(old_good) ? old_good : "";
  }
  for (const LabelledFile& f : holdout)
    if (!index.count(f.label)) {
      std::fprintf(stderr, "triage adapt: %s: holdout label '%s' is not a class of the new model\n", printable(f.path).c_str(),
                   printable(f.label).c_str());
      return 1;
    }

  // Counts and the method.
  const int k = static_cast<int>(labels.size());
  std::vector<int> count(k, 0);
  for (const LabelledFile& f : data) ++count[index[f.label]];
  int min_present = INT32_MAX, min_all = INT32_MAX, argmin_present = 0, argmin_all = 0;
  for (int c = 0; c < k; ++c) {
    if (count[c] > 0 && count[c] < min_present) min_present = count[c], argmin_present = c;
    if (count[c] < min_all) min_all = count[c], argmin_all = c;
  }
  const bool logreg_ok = min_present >= kMinLogregImages, ncm_ok = min_all >= kMinNcmImages;
  std::string method = method_opt;
  if (method == "auto") method = logreg_ok ? "logreg" : (ncm_ok ? "ncm" : "");
  if (method.empty() || (method == "logreg" && !logreg_ok) || (method == "ncm" && !ncm_ok)) {
    const bool lr = method.empty() || method == "logreg";
    const int c = lr && !logreg_ok ? argmin_present : argmin_all;
    std::fprintf(stderr, "triage adapt: class '%s' has %d image%s: logistic regression needs >= %d images of every class "
                 "in the data, nearest-class-mean >= %d of every class of the new model (%d classes)\n",
                 printable(labels[c]).c_str(), count[c], count[c] == 1 ? "" : "s", kMinLogregImages, kMinNcmImages, k);
    return 1;
  }

  // Features.
  const auto t0 = Clock::now();
  calib::ProgressBar bar("adapt: features", a.has("--progress"));
  adapt::ExtractOptions eo;
  eo.threads = threads;
  eo.progress = [&](size_t done, size_t total) { bar(done, total); };
  adapt::FeatureSet fs, hs;
  if (!adapt::extract_features(buf.span(), data, eo, fs, error) ||
      (!holdout.empty() && !adapt::extract_features(buf.span(), holdout, {threads, 8, nullptr}, hs, error))) {
    std::fprintf(stderr, "triage adapt: %s\n", error.c_str());
    return 1;
  }
  if (fs.dim != D) {
    std::fprintf(stderr, "triage adapt: features have %d values, the head takes %d\n", fs.dim, D);
    return 1;
  }
  const auto t1 = Clock::now();

  // The problem: rows_per_image rows per image, equal total weight per class.
  const int rpi = fs.rows_per_image, n = static_cast<int>(data.size()) * rpi;
  int present = 0;
  for (int c = 0; c < k; ++c) present += count[c] > 0;
  std::vector<int> y(n), group(n);
  std::vector<double> w(n);
  for (int i = 0; i < n; ++i) {
    y[i] = index[data[i / rpi].label];
    group[i] = i / rpi;
    w[i] = static_cast<double>(n) / (present * static_cast<double>(count[y[i]] * rpi));
  }
  std::vector<float> w0(static_cast<size_t>(k) * D, 0.0f), b0(k, 0.0f);
  if (mode != "replace")
    for (size_t c = 0; c < old_labels.size(); ++c) {
      std::copy_n(old_head.weight.data() + c * D, D, w0.data() + c * D);
      b0[c] = old_head.bias[c];
    }
  std::vector<uint8_t> frozen(k, 0);
  if (mode == "add")
    for (size_t c = 0; c < old_labels.size(); ++c) frozen[c] = 1;
  adapt::Problem p;
  p.frozen = frozen.data();
  p.n = n;
  p.d = D;
  p.k = k;
  p.x = fs.x.data();
  p.y = y.data();
  p.w = w.data();
  p.w0 = w0.data();
  p.b0 = b0.data();
  adapt::Head head;
  json fit;
  if (method == "logreg") {
    adapt::FitOptions fo;
    std::vector<double> cv;
    const std::vector<double> grid = {1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1};
    const int folds = std::min(5, min_present);
    if (lambda_fixed > 0) {
      fo.lambda = lambda_fixed;
    } else {
      adapt::FitOptions cvo = fo;
      cvo.max_iter = 200;
      cvo.tol = 1e-5;
      fo.lambda = adapt::choose_lambda(p, group, grid, folds, cvo, &cv);
    }
    adapt::FitReport rep;
    if (!adapt::fit_softmax_regression(p, fo, head, rep, &error)) {
      std::fprintf(stderr, "triage adapt: %s\n", error.c_str());
      return 1;
    }
    fit = {{"method", "logreg"}, {"lambda", fo.lambda}, {"lambda_by", lambda_fixed > 0 ? "--lambda" : "cross-validation"},
           {"cv_folds", lambda_fixed > 0 ? 0 : folds}, {"iterations", rep.iterations}, {"converged", rep.converged},
           {"grad_norm", rep.grad_norm}, {"loss", rep.loss}};
    if (!cv.empty()) {
      json jc = json::object();
      for (size_t i = 0; i < grid.size(); ++i) {
        char b[32];
        std::snprintf(b, sizeof b, "%g", grid[i]);
        jc[b] = cv[i];
      }
      fit["cv_loss"] = jc;
    }
  } else {
    adapt::NcmReport rep;
    if (!adapt::fit_nearest_mean(p, group, head, rep, &error)) {
      std::fprintf(stderr, "triage adapt: %s\n", error.c_str());
      return 1;
    }
    fit = {{"method", "ncm"}, {"temperature", rep.temperature}, {"loo_loss", rep.loo_loss},
           {"loo_accuracy", rep.loo_accuracy}};
  }
  adapt::Head stored;
  if (!adapt::stored_head(base, head, stored, error)) {
    std::fprintf(stderr, "triage adapt: %s\n", error.c_str());
    return 1;
  }
  const auto t2 = Clock::now();

  double tr_c = 0, tr_f = 0, ho_c = -1, ho_f = -1;
  pass_accuracy(fs, y, stored, k, tr_c, tr_f);
  std::vector<int> hy;
  if (!holdout.empty()) {
    for (size_t i = 0; i < holdout.size() * rpi; ++i) hy.push_back(index[holdout[i / rpi].label]);
    pass_accuracy(hs, hy, stored, k, ho_c, ho_f);
  }
  json counts = json::object();
  for (int c = 0; c < k; ++c) counts[labels[c]] = count[c];
  json prov = {{"tool", "triage adapt"},
               {"tool_version", version_string()},
               {"date", utc_now_iso8601()},
               {"base_model", model_name},
               {"base_labels", old_labels},
               {"classes", mode},
               {"data_sha256", fs.data_sha256},
               {"images", data.size()},
               {"counts", counts},
               {"features", rpi == 2 ? "final-norm CLS token of the coarse pass and of the forced fine pass (K = arch.topk), "
                                       "one row each" : "final-norm CLS token of the single pass"},
               {"fit", fit},
               {"train_accuracy", {{"coarse", tr_c}, {"fine", tr_f}}}};
  if (!holdout.empty())
    prov["holdout"] = {{"images", holdout.size()}, {"data_sha256", hs.data_sha256},
                       {"accuracy", {{"coarse", ho_c}, {"fine", ho_f}}}};
  adapt::AdaptedModel am{labels, good, head, prov.dump(-1, ' ', false, json::error_handler_t::replace)};
  if (!adapt::write_adapted_model(base, am, out_path, model_path, error)) {
    std::fprintf(stderr, "triage adapt: %s\n", printable(error).c_str());
    return 1;
  }
  if (!csv_path.empty()) {
    write_features_csv(csv_path, fs, y, labels, error);
    if (!error.empty()) {
      std::fprintf(stderr, "triage adapt: %s\n", printable(error).c_str());
      return 1;
    }
  }
  const auto t3 = Clock::now();
  json report = {{"model", model_path},   {"output", out_path},  {"classes", mode},          {"labels", labels},
                 {"good_label", good.empty() ? json(nullptr) : json(good)}, {"counts", counts},
                 {"fit", fit},            {"train_accuracy", prov["train_accuracy"]},
                 {"holdout_accuracy", holdout.empty() ? json(nullptr) : prov["holdout"]["accuracy"]},
                 {"seconds", {{"features", seconds(t0, t1)}, {"fit", seconds(t1, t2)}, {"write", seconds(t2, t3)}}},
                 {"calibrated", false}};
  if (a.has("--json")) {
    std::printf("%s\n", report.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("adapt %s -> %s (--classes %s): %zu images, %d classes%s%s\n", printable(model_path).c_str(),
              printable(out_path).c_str(), mode.c_str(), data.size(), k, good.empty() ? "" : ", good = ",
              printable(good).c_str());
  for (int c = 0; c < k; ++c) std::printf("  %-24s %6d images%s\n", printable(labels[c]).c_str(), count[c],
                                          c < static_cast<int>(old_labels.size()) && mode != "replace" ? "" : "  (new)");
  if (method == "logreg")
    std::printf("head: logistic regression, lambda %g (%s), %d L-BFGS iterations%s\n", fit["lambda"].get<double>(),
                fit["lambda_by"].get<std::string>().c_str(), fit["iterations"].get<int>(),
                fit["converged"].get<bool>() ? "" : " (not converged)");
  else
    std::printf("head: nearest class mean, temperature %.4g, leave-one-out accuracy %.1f%%\n",
                fit["temperature"].get<double>(), 100 * fit["loo_accuracy"].get<double>());
  std::printf("training accuracy (stored head): coarse %.1f%%, fine %.1f%%\n", 100 * tr_c, 100 * tr_f);
  if (!holdout.empty())
    std::printf("held-out accuracy (%zu images, stored head): coarse %.1f%%, fine %.1f%%\n", holdout.size(), 100 * ho_c,
                100 * ho_f);
  std::printf("time: features %.1f s, fit %.2f s, write %.2f s\n", seconds(t0, t1), seconds(t1, t2), seconds(t2, t3));
  std::printf("router: uncalibrated (fail-safe: the good class is never decided until triage calibrate runs on %s)\n",
              printable(out_path).c_str());
  return 0;
}

}  // namespace triage::cli
