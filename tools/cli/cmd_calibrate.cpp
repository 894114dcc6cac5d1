// triage calibrate: chooses the router's good thresholds on labelled data so that the escape rate has
// a stated upper confidence bound (tools/calibrate/learn_then_test.h), reports the evidence and
// writes a new model file (never the input) with the thresholds and their provenance.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/triage.h"
#include "runtime/version.h"
#include "tools/calibrate/class_review.h"
#include "tools/cli/ood_report.h"
#include "tools/calibrate/learn_then_test.h"
#include "tools/calibrate/progress_bar.h"
#include "tools/calibrate/score_table.h"
#include "tools/calibrate/write_calibrated.h"
#include "tools/cli/args.h"
#include "tools/cli/calibrate_no_good.h"
#include "tools/cli/class_review_report.h"
#include "tools/cli/commands.h"
#include "tools/cli/dataset.h"
#include "tools/cli/stats.h"
#include "tools/cli/text.h"
#include "weights_format/trw.h"

namespace triage::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kUsage =
    "usage: triage calibrate MODEL.trw --data LABELS.csv|DIR --target-escape E --confidence C -o OUT.trw\n"
    "                        [--router-json OUT.json] [--json] [--class-target-escape E2] [--fine-good F |\n"
    "                        --fine-grid F1,F2,...] [--max-over-reject R] [--coarse-defect T] [--review T]\n"
    "                        [--threads N] [--progress] [--target-purity P] [--max-reject R] [--ood-false-flag A]\n"
    "       triage calibrate MODEL.trw --data LABELS.csv|DIR --target-exit-error E --confidence C -o OUT.trw ...\n"
    "                        (a model without a good class)\n"
    "  Runs the model on every labelled image twice (forced coarse exit, forced fine pass: both results are\n"
    "  known for every image), then chooses router.coarse_good_threshold and router.fine_good_threshold so\n"
    "  that the escape rate (a defective image finally decided good under the full routed rule) has a\n"
    "  one-sided upper confidence bound <= E at confidence C, overall and for every defect class with\n"
    "  enough images. Writes OUT.trw: the same tensors and metadata, the router keys, router.calibrated=1\n"
    "  and router.provenance (data hash, counts, bounds, method, date, tool version).\n"
    "  Method (Learn-then-Test): for each fine_good value (default 0.5 0.8 0.9 0.95 0.98 0.99 0.995 0.999)\n"
    "  a fixed sequence of coarse_good values from strict (2: never exit good at the coarse pass) to lax\n"
    "  (1-1e-7 ... 0.5, but never below that fine_good: the engine refuses a coarse pass that exits good\n"
    "  on less evidence than the fine pass needs) is tested with exact binomial (Clopper-Pearson) p-values\n"
    "  at level (1-C)/m, m the\n"
    "  number of fine values (Bonferroni), each sequence stopping at its first failure. Several thresholds\n"
    "  are looked at, so a plain per-threshold bound would be optimistic; this procedure bounds the chance\n"
    "  that ANY certified pair is unsafe by 1-C (family-wise), and the choice among certified pairs (fewest\n"
    "  escalations, then fewest over-rejects) cannot break it. A defect class is bounded on its own when it\n"
    "  has at least ceil(ln((1-C)/m)/ln(1-E2)) images (E2 default: E); smaller classes are reported as\n"
    "  'insufficient sample'. Refuses (exit 1) when the data cannot support the bound, e.g. fewer than\n"
    "  ln(1-C)/ln(1-E) defective images (the n at which 0 escapes certify E).\n"
    "  --data                 CSV with a header holding 'path' and 'label' (paths relative to the CSV;\n"
    "                         other columns ignored), or a folder DIR/<label>/<images>\n"
    "  --target-escape E      overall escape-rate bound, in (0, 1), e.g. 0.002\n"
    "  --confidence C         in (0, 1), e.g. 0.95\n"
    "  -o, --output           the new model file (written atomically; never MODEL itself)\n"
    "  --router-json FILE     also write the thresholds + provenance as JSON (for triage convert --router)\n"
    "  --json                 print the report as one JSON object\n"
    "  --class-target-escape  per-defect-class bound E2 (default E)\n"
    "  --fine-good F          test this one fine_good value only (m = 1: full level 1-C for the tests)\n"
    "  --fine-grid LIST       comma-separated fine_good values (m = their count)\n"
    "  --max-over-reject R    do not choose pairs whose observed over-reject rate exceeds R (default 1)\n"
    "  --coarse-defect T      router.coarse_defect_threshold (default: the model's)\n"
    "  --review T             router.review_threshold (default: the model's)\n"
    "  --target-exit-error E  a model without a good class (no escapes, no good exit): choose\n"
    "                         router.coarse_defect_threshold, the laxest of a fixed sequence (strict -> lax,\n"
    "                         first failure stops it) whose exit-error rate (the coarse class wrong where the\n"
    "                         fine pass is right, per image) has a Clopper-Pearson bound <= E at confidence C\n"
    "  --target-purity P      also choose a review threshold per class (router.class_review_thresholds,\n"
    "                         the reject bin): for each class the laxest threshold at which the routed\n"
    "                         decisions of that class that are not sent to review are >= P correct on this\n"
    "                         data (P in (0, 1)); classes with fewer than 20 decisions keep --review\n"
    "  --max-reject R         cap each class's rejection (share of its decisions sent to review) at R in\n"
    "                         [0, 1]; alone: the strictest threshold within R (the purest the budget allows)\n"
    "  --ood-false-flag A     also choose out-of-distribution thresholds (router.ood_*_threshold): per pass,\n"
    "                         the energy score above which a decision is flagged unknown, so that an image\n"
    "                         like these is flagged with probability <= A (split conformal; A in (0, 1),\n"
    "                         e.g. 0.01; needs >= (1-A)/A images)\n"
    "  --threads N            engine threads (default 1)\n"
    "  --progress             progress bar on stderr even when it is not a terminal\n";

bool parse_double(const std::string& s, double lo, double hi, bool open, double& out) {
  if (s.empty() || s.size() > 64) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  if (open ? (v <= lo || v >= hi) : (v < lo || v > hi)) return false;
  out = v;
  return true;
}

bool parse_list(const std::string& s, std::vector<double>& out) {
  out.clear();
  size_t pos = 0;
  while (pos <= s.size() && out.size() < 64) {
    const size_t end = std::min(s.find(',', pos), s.size());
    double v;
    if (!parse_double(s.substr(pos, end - pos), 0, 1, false, v)) return false;
    out.push_back(v);
    pos = end + 1;
  }
  return !out.empty() && pos > s.size();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g%%", 100 * v);
  return b;
}

std::string dump(const json& j, int indent = -1) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

// Per-class lines / objects at the chosen pair.
json class_json(const calib::ScoreTable& t, const calib::LttResult& r, double confidence) {
  json out = json::object();
  for (const calib::ClassBound& b : calib::class_bounds(t, r.chosen.counts, 1.0 - r.alpha_test, r.class_min_n)) {
    out[t.class_names[static_cast<size_t>(b.cls)]] = {
        {"n", b.n},
        {"escapes", b.escapes},
        {"bound", b.bound},
        {"bound_at_confidence", clopper_pearson_upper(b.escapes, b.n, confidence)},
        {"status", b.tested ? "tested" : "insufficient sample"}};
  }
  return out;
}

}  // namespace

int cmd_calibrate(int argc, char** argv) {
  Args a;
  std::string error;
  const std::vector<OptSpec> specs = {
      {"--data", nullptr, true},          {"--target-escape", nullptr, true}, {"--confidence", nullptr, true},
      {"--output", "-o", true},           {"--router-json", nullptr, true},   {"--json", nullptr, false},
      {"--class-target-escape", nullptr, true}, {"--fine-good", nullptr, true}, {"--fine-grid", nullptr, true},
      {"--max-over-reject", nullptr, true}, {"--coarse-defect", nullptr, true}, {"--review", nullptr, true},
      {"--threads", nullptr, true},       {"--progress", nullptr, false},     {"--target-exit-error", nullptr, true},
      {"--target-purity", nullptr, true}, {"--max-reject", nullptr, true},    {"--ood-false-flag", nullptr, true},    {"--help", "-h", false}};
  if (!parse_args(argc, argv, specs, a, error)) {
    std::fprintf(stderr, "triage calibrate: %s (see triage calibrate --help)\n", error.c_str());
    return 2;
  }
  if (a.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (a.positional.size() != 1 || !a.has("--data") || (!a.has("--target-escape") && !a.has("--target-exit-error")) ||
      !a.has("--confidence") || !a.has("--output")) {
    std::fprintf(stderr, "triage calibrate: need MODEL.trw, --data, --target-escape (or --target-exit-error), --confidence "
                         "and -o (see --help)\n");
    return 2;
  }
  calib::LttOptions lo;
  calib::ExitRiskOptions xo;
  double d = 0;
  uint32_t threads = 1;
  if ((a.has("--target-exit-error") && !parse_double(a.get("--target-exit-error"), 0, 1, true, xo.target)) ||
      (a.has("--target-escape") && !parse_double(a.get("--target-escape"), 0, 1, true, lo.target_escape)) ||
      !parse_double(a.get("--confidence"), 0, 1, true, lo.confidence) ||
      (a.has("--class-target-escape") && !parse_double(a.get("--class-target-escape"), 0, 1, true, lo.class_target_escape)) ||
      (a.has("--max-over-reject") && !parse_double(a.get("--max-over-reject"), 0, 1, false, lo.max_over_reject))) {
    std::fprintf(stderr, "triage calibrate: --target-escape, --confidence and --class-target-escape must be in (0, 1), "
                         "--max-over-reject in [0, 1]\n");
    return 2;
  }
  if (a.has("--fine-good") && a.has("--fine-grid")) {
    std::fprintf(stderr, "triage calibrate: --fine-good and --fine-grid exclude each other\n");
    return 2;
  }
  if (a.has("--fine-good")) {
    if (!parse_double(a.get("--fine-good"), 0, 1, false, d)) {
      std::fprintf(stderr, "triage calibrate: --fine-good must be in [0, 1]\n");
      return 2;
    }
    lo.fine_grid = {d};
  }
  if (a.has("--fine-grid") && !parse_list(a.get("--fine-grid"), lo.fine_grid)) {
    std::fprintf(stderr, "triage calibrate: --fine-grid must be 1..64 comma-separated values in [0, 1]\n");
    return 2;
  }
  if (a.has("--threads")) {
    if (!parse_double(a.get("--threads"), 1, TRIAGE_MAX_THREADS, false, d) || d != std::floor(d)) {
      std::fprintf(stderr, "triage calibrate: --threads must be 1..%u\n", TRIAGE_MAX_THREADS);
      return 2;
    }
    threads = static_cast<uint32_t>(d);
  }
  double coarse_defect = 0, review = 0;  // kept from the model unless given
  if ((a.has("--coarse-defect") && !parse_double(a.get("--coarse-defect"), 0, 2, false, coarse_defect)) ||
      (a.has("--review") && !parse_double(a.get("--review"), 0, 2, false, review))) {
    std::fprintf(stderr, "triage calibrate: --coarse-defect and --review must be in [0, 2]\n");
    return 2;
  }
  calib::ClassReviewOptions cro;
  const bool class_review = a.has("--target-purity") || a.has("--max-reject");
  if ((a.has("--target-purity") && !parse_double(a.get("--target-purity"), 0, 1, true, cro.target_purity)) ||
      (a.has("--max-reject") && !parse_double(a.get("--max-reject"), 0, 1, false, cro.max_reject))) {
    std::fprintf(stderr, "triage calibrate: --target-purity must be in (0, 1), --max-reject in [0, 1]\n");
    return 2;
  }
  cro.confidence = lo.confidence;
  double ood_alpha = 0;
  if (a.has("--ood-false-flag") && !parse_double(a.get("--ood-false-flag"), 0, 1, true, ood_alpha)) {
    std::fprintf(stderr, "triage calibrate: --ood-false-flag must be in (0, 1)\n");
    return 2;
  }
  const std::string model_path = a.positional[0], out_path = a.get("--output"), json_path = a.get("--router-json");
  // Refuse to overwrite inputs before spending minutes on the data.
  if (trw::same_file(out_path, model_path) || (!json_path.empty() && (trw::same_file(json_path, model_path) ||
                                                                       json_path == out_path))) {
    std::fprintf(stderr, "triage calibrate: refusing to overwrite the input model %s (or write both outputs to one file)\n",
                 printable(model_path).c_str());
    return 1;
  }

  std::vector<LabelledFile> data;
  if (!load_dataset(a.get("--data"), data, error)) {
    std::fprintf(stderr, "triage calibrate: %s\n", error.c_str());
    return 1;
  }
  if (trw::same_file(out_path, a.get("--data")) || (!json_path.empty() && trw::same_file(json_path, a.get("--data")))) {
    std::fprintf(stderr, "triage calibrate: refusing to overwrite the data file %s\n", printable(a.get("--data")).c_str());
    return 1;
  }
  calib::ProgressBar bar("calibrate", a.has("--progress"));
  calib::ScoreOptions so;
  so.threads = threads;
  so.progress = [&](size_t done, size_t total) { bar(done, total); };
  calib::ScoreTable table;
  calib::ModelSummary model;
  std::string data_hash;
  if (!calib::score_dataset(model_path, data, so, table, nullptr, model, data_hash, error)) {
    std::fprintf(stderr, "triage calibrate: %s\n", error.c_str());
    return 1;
  }
  if (table.good < 0) {
    if (!a.has("--target-exit-error")) {
      std::fprintf(stderr, "triage calibrate: model %s has no good class: there is no escape rate to bound; its router "
                   "exits at the coarse pass only on router.coarse_defect_threshold: pass --target-exit-error E\n",
                   printable(model.name).c_str());
      return 2;
    }
    xo.confidence = lo.confidence;
    xo.review = a.has("--review") ? review : model.router.review;
    return calibrate_no_good(table, model, {model_path, out_path, json_path, a.get("--data"), data_hash, utc_now(),
                                            a.has("--json"), class_review ? &cro : nullptr, ood_alpha}, xo);
  }
  if (!a.has("--target-escape")) {
    std::fprintf(stderr, "triage calibrate: model %s has a good class: --target-escape is needed (--target-exit-error is "
                 "for models without one)\n", printable(model.name).c_str());
    return 2;
  }
  lo.coarse_defect = a.has("--coarse-defect") ? coarse_defect : model.router.coarse_defect;
  lo.review = a.has("--review") ? review : model.router.review;

  const calib::LttResult r = calib::learn_then_test(table, lo);
  const std::vector<double> fine_grid = lo.fine_grid.empty() ? calib::default_fine_grid() : lo.fine_grid;
  const std::vector<double> coarse_grid = calib::default_coarse_grid();
  const double conf_test = 1.0 - r.alpha_test;

  json j;
  j["model"] = {{"name", model.name}, {"path", model_path}, {"dtype", model.dtype}, {"source_sha256", model.source_sha256}};
  j["method"] = "learn-then-test: fixed-sequence over coarse_good_threshold (strict to lax) for each fine_good_threshold, "
                "Bonferroni over the fine values; exact binomial (Clopper-Pearson) p-values; overall and per defect class "
                "(intersection-union)";
  j["target_escape"] = lo.target_escape;
  j["class_target_escape"] = r.class_target;
  j["confidence"] = lo.confidence;
  j["alpha_per_test"] = r.alpha_test;
  j["fine_good_values"] = fine_grid;
  j["coarse_good_values"] = coarse_grid.size();
  j["min_defective_zero_escapes"] = r.n_required;
  j["min_defective_zero_escapes_search"] = r.n_required_search;
  j["class_min_n"] = r.class_min_n;
  j["data"] = a.get("--data");
  j["data_sha256"] = data_hash;
  j["images"] = table.size();
  j["good"] = r.good;
  j["defective"] = r.defective;
  j["tool"] = std::string("triage calibrate ") + version_string();
  j["date"] = utc_now();
  if (!r.ok) {
    j["refused"] = r.refusal;
    if (a.has("--json")) std::printf("%s\n", dump(j).c_str());
    std::fprintf(stderr, "triage calibrate: refused: %s\n", r.refusal.c_str());
    return 1;
  }
  const calib::RoutedCounts& c = r.chosen.counts;
  const double bound = clopper_pearson_upper(c.escapes, c.defective, conf_test);
  const double bound_c = clopper_pearson_upper(c.escapes, c.defective, lo.confidence);
  j["thresholds"] = {{"coarse_good_threshold", r.chosen.th.coarse_good},
                     {"fine_good_threshold", r.chosen.th.fine_good},
                     {"coarse_defect_threshold", r.chosen.th.coarse_defect},
                     {"review_threshold", r.chosen.th.review}};
  j["escapes"] = c.escapes;
  j["escape_bound"] = bound;
  j["escape_bound_at_confidence"] = bound_c;
  j["classes"] = class_json(table, r, lo.confidence);
  j["over_rejects"] = c.over_rejects;
  j["over_reject_rate"] = calib::rate(c.over_rejects, c.good);
  j["escalation_rate"] = calib::rate(c.escalated, c.images);
  j["escalation_rate_good"] = calib::rate(c.escalated_good, c.good);
  j["escalation_rate_defective"] = calib::rate(c.escalated_defective, c.defective);
  j["accuracy"] = calib::rate(c.correct, c.images);
  j["review_rate"] = calib::rate(c.review, c.images);
  j["certified_pairs"] = r.certified;
  json stops = json::array();
  for (const auto& seq : r.sequences) {
    const calib::Trial& last = seq.back();
    stops.push_back({{"fine_good", last.th.fine_good},
                     {"certified", seq.size() - (last.certified ? 0 : 1)},
                     {"stopped_at_coarse_good", last.certified ? json(nullptr) : json(last.th.coarse_good)},
                     {"stop_escapes", last.counts.escapes}});
  }
  j["sequences"] = stops;
  rt::RouterThresholds th = r.chosen.th;
  std::vector<calib::ClassReview> cr;
  if (class_review) {
    cr = calib::choose_class_review(table, th, cro);
    const std::vector<double> crt = calib::class_review_thresholds(cr);
    th.class_review.assign(crt.begin(), crt.end());  // one per class: within the cap
    j["class_review"] = class_review_json(table, cro, cr);
    j["review_rate"] = calib::rate(calib::count_routed(table, th).review, c.images);
  }
  calib::OodCalibration ood;
  if (ood_alpha > 0) {
    ood = calib::calibrate_ood(table, ood_alpha, th);
    if (!ood.ok) {
      std::fprintf(stderr, "triage calibrate: refused: OOD thresholds: %s\n", printable(ood.why).c_str());
      return 1;
    }
    j["ood"] = ood_json(ood, ood_alpha);
  }

  // The new model: same tensors and metadata, router keys replaced.
  json prov = j;
  prov.erase("model");
  prov.erase("thresholds");
  prov.erase("sequences");
  prov["model_source_sha256"] = model.source_sha256;
  prov["model_dtype"] = model.dtype;
  if (!calib::write_calibrated_model(model_path, out_path, json_path, th, dump(prov), error)) {
    std::fprintf(stderr, "triage calibrate: %s\n", printable(error).c_str());
    return 1;
  }
  j["output"] = out_path;
  if (!json_path.empty()) j["router_json"] = json_path;

  if (a.has("--json")) {
    std::printf("%s\n", dump(j).c_str());
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  std::printf("model        %s (%s, %s)\n", printable(model.name).c_str(), model.dtype.c_str(), printable(model_path).c_str());
  std::printf("data         %s: %zu images (%llu good, %llu defective), sha256 %s\n", printable(a.get("--data")).c_str(),
              table.size(), static_cast<unsigned long long>(r.good), static_cast<unsigned long long>(r.defective),
              data_hash.c_str());
  std::printf("target       escape rate <= %g overall, <= %g per defect class, confidence %g\n", lo.target_escape,
              r.class_target, lo.confidence);
  std::printf("method       Learn-then-Test: %zu fine_good values x fixed sequence of %zu coarse_good values (strict->lax),\n"
              "             stop at first failure; Bonferroni: each test at level %.3g (confidence %.5g); exact binomial\n"
              "             (Clopper-Pearson) p-values; per class when n >= %llu\n",
              fine_grid.size(), coarse_grid.size(), r.alpha_test, conf_test, static_cast<unsigned long long>(r.class_min_n));
  std::printf("sample need  >= %llu defective images with 0 escapes for E at C (ln(1-C)/ln(1-E)); %llu for this search\n",
              static_cast<unsigned long long>(r.n_required), static_cast<unsigned long long>(r.n_required_search));
  std::printf("chosen       coarse_good %.9g  fine_good %.9g  (coarse_defect %.9g, review %.9g)\n", r.chosen.th.coarse_good,
              r.chosen.th.fine_good, r.chosen.th.coarse_defect, r.chosen.th.review);
  std::printf("escapes      %llu / %llu defective (%s); upper bound %s at confidence %.5g (tested), %s at %g\n",
              static_cast<unsigned long long>(c.escapes), static_cast<unsigned long long>(c.defective),
              pct(calib::rate(c.escapes, c.defective)).c_str(), pct(bound).c_str(), conf_test, pct(bound_c).c_str(),
              lo.confidence);
  for (const calib::ClassBound& b : calib::class_bounds(table, c, conf_test, r.class_min_n))
    std::printf("  %-18s n %-6llu escapes %-4llu bound %-9s %s\n",
                printable(table.class_names[static_cast<size_t>(b.cls)]).c_str(), static_cast<unsigned long long>(b.n),
                static_cast<unsigned long long>(b.escapes), pct(b.bound).c_str(),
                b.tested ? "tested" : "insufficient sample (not bounded on its own)");
  std::printf("over-reject  %llu / %llu good (%s)\n", static_cast<unsigned long long>(c.over_rejects),
              static_cast<unsigned long long>(c.good), pct(calib::rate(c.over_rejects, c.good)).c_str());
  std::printf("escalation   %s of images (good %s, defective %s)\n", pct(calib::rate(c.escalated, c.images)).c_str(),
              pct(calib::rate(c.escalated_good, c.good)).c_str(), pct(calib::rate(c.escalated_defective, c.defective)).c_str());
  std::printf("accuracy     %s  (review flag on %s)\n", pct(calib::rate(c.correct, c.images)).c_str(),
              pct(j["review_rate"].get<double>()).c_str());
  std::printf("certified    %zu pairs; sequences:", r.certified);
  for (const auto& s : stops)
    std::printf(" [fine %g: %s]", s["fine_good"].get<double>(),
                s["stopped_at_coarse_good"].is_null() ? "all passed"
                                                      : ("stopped at coarse " + dump(s["stopped_at_coarse_good"])).c_str());
  std::printf("\n");
  if (class_review) print_class_review(table, cro, cr);
  if (ood_alpha > 0) print_ood(ood, ood_alpha);
  std::printf("wrote        %s (router.calibrated=1)%s%s\n", printable(out_path).c_str(), json_path.empty() ? "" : ", ",
              printable(json_path).c_str());
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace triage::cli
