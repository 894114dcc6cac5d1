// triage eval: accuracy, escapes (with a Clopper-Pearson bound), over-rejects, routing and latency of a
// model on a labelled set, measured on the engine's own routed run, with a forced fine-all run as the
// cost reference and forced coarse / fine runs for the per-pass numbers and the threshold curve.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/router.h"
#include "runtime/triage.h"
#include "tools/calibrate/learn_then_test.h"
#include "tools/calibrate/progress_bar.h"
#include "tools/calibrate/routed_counts.h"
#include "tools/calibrate/score_table.h"
#include "tools/cli/adc_report.h"
#include "tools/cli/args.h"
#include "tools/cli/audit_log.h"
#include "tools/cli/commands.h"
#include "tools/cli/dataset.h"
#include "tools/cli/stats.h"
#include "tools/cli/svg_plot.h"
#include "tools/cli/text.h"
#include "weights_format/trw.h"

namespace triage::cli {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kUsage =
    "usage: triage eval MODEL.trw --data LABELS.csv|DIR [--json] [--plots DIR] [--threads N] [--confidence C]\n"
    "                   [--progress] [--manual-column NAME] [--audit FILE.jsonl] [--allow-uncalibrated]\n"
    "  Classifies every labelled image with the model's router (timed), with every image forced through\n"
    "  the fine pass over all patches (timed: the cost reference), and with forced coarse / fine passes\n"
    "  (per-pass accuracy, threshold curve). Reports accuracy, per-class precision / recall, the confusion\n"
    "  matrix, escapes (defective called good) with a one-sided Clopper-Pearson upper bound, over-rejects\n"
    "  (good called defective), escalation and review rates, latency per image (mean, p50, p99, max),\n"
    "  the routed run's cost relative to fine-all (time and tokens), and coarse-only / fine accuracy.\n"
    "  --data          CSV with a header holding 'path' and 'label' (paths relative to the CSV; other\n"
    "                  columns ignored), or a folder DIR/<label>/<images>\n"
    "  --json          one JSON object (images, accuracy, escapes, escape_bound, over_rejects,\n"
    "                  escalation_rate, latency_ms {mean, p50, p99, max}, relative_cost, ...)\n"
    "  --plots DIR     write confusion.svg, router_curve.svg (escape bound and escalation rate vs\n"
    "                  router.coarse_good_threshold) and latency.svg into DIR\n"
    "  --threads N     engine threads (default 1)\n"
    "  --confidence C  of the escape bound (default 0.95)\n"
    "  --progress      progress bar on stderr even when it is not a terminal\n"
    "  --manual-column NAME  the CSV column holding the engineer's manual classification: the truth of\n"
    "                  every number, and the ADC report (per class accuracy = correct / manual count,\n"
    "                  purity = correct / auto count, rejection (review) rate, contribution = share of\n"
    "                  all defects) in the text, in --json (\"adc\") and as DIR/adc_report.svg with --plots\n"
    "  --audit FILE    append one JSON line per routed decision to FILE (docs/audit-log.md), with the\n"
    "                  image's label\n"
    "  --allow-uncalibrated  evaluate an uncalibrated model with its file's thresholds; without it the\n"
    "                  engine's fail-safe is evaluated (the good class never decided: `triage inspect`)\n";

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
  return b;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool write_text(const std::string& path, const std::string& text, std::string& err) {
  trw::Error terr;
  if (!trw::write_file_atomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, terr)) {
    err = printable(path) + ": " + terr.message;
    return false;
  }
  return true;
}

// Escapes / over-rejects / accuracy of one set of decisions, as JSON.
// A model without a good class has no escapes and no over-rejects: those are null.
json summary(const calib::RoutedCounts& c, double confidence, bool has_good) {
  if (!has_good) return {{"accuracy", calib::rate(c.correct, c.images)}, {"escapes", nullptr},
                         {"escape_bound", nullptr}, {"over_rejects", nullptr}};
  return {{"accuracy", calib::rate(c.correct, c.images)},
          {"escapes", c.escapes},
          {"escape_bound", clopper_pearson_upper(c.escapes, c.defective, confidence)},
          {"over_rejects", c.over_rejects}};
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  Args a;
  std::string error;
  const std::vector<OptSpec> specs = {{"--data", nullptr, true},    {"--json", nullptr, false},
                                      {"--plots", nullptr, true},   {"--threads", nullptr, true},
                                      {"--confidence", nullptr, true}, {"--progress", nullptr, false},
                                      {"--manual-column", nullptr, true}, {"--audit", nullptr, true},
                                      {"--allow-uncalibrated", nullptr, false}, {"--help", "-h", false}};
  if (!parse_args(argc, argv, specs, a, error)) {
    std::fprintf(stderr, "triage eval: %s (see triage eval --help)\n", error.c_str());
    return 2;
  }
  if (a.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (a.positional.size() != 1 || !a.has("--data")) {
    std::fprintf(stderr, "triage eval: need MODEL.trw and --data (see triage eval --help)\n");
    return 2;
  }
  calib::ScoreOptions so;
  so.timed = true;
  so.allow_uncalibrated = a.has("--allow-uncalibrated");
  if (a.has("--threads")) {
    const std::string t = a.get("--threads");
    if (t.empty() || t.size() > 3 || t.find_first_not_of("0123456789") != std::string::npos || std::stoul(t) < 1 ||
        std::stoul(t) > TRIAGE_MAX_THREADS) {
      std::fprintf(stderr, "triage eval: --threads must be 1..%u\n", TRIAGE_MAX_THREADS);
      return 2;
    }
    so.threads = static_cast<uint32_t>(std::stoul(t));
  }
  double confidence = 0.95;
  if (a.has("--confidence")) {
    char* end = nullptr;
    const std::string s = a.get("--confidence");
    confidence = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !(confidence > 0 && confidence < 1)) {
      std::fprintf(stderr, "triage eval: --confidence must be in (0, 1)\n");
      return 2;
    }
  }
  const std::string model_path = a.positional[0], plots = a.get("--plots");
  const std::string manual_column = a.get("--manual-column", "");
  if (a.has("--manual-column") && manual_column.empty()) {
    std::fprintf(stderr, "triage eval: --manual-column needs a column name\n");
    return 2;
  }
  std::vector<LabelledFile> data;
  if (!load_dataset(a.get("--data"), data, error, manual_column.empty() ? "label" : manual_column)) {
    std::fprintf(stderr, "triage eval: %s\n", error.c_str());
    return 1;
  }
  AuditLog audit;
  if (a.has("--audit")) {  // opened first: an unwritable log is refused before any work
    triage_model* m = nullptr;
    triage_options ao;
    triage_options_init(&ao);
    if (so.allow_uncalibrated) ao.flags |= TRIAGE_OPEN_ALLOW_UNCALIBRATED;
    const triage_status st = triage_open_file(model_path.c_str(), &ao, &m);
    const bool ok = st == TRIAGE_OK && audit.open(a.get("--audit"), model_path, m, error);
    if (st != TRIAGE_OK) error = "model: " + printable(triage_open_error()) + " (" + triage_status_name(st) + ")";
    triage_close(m);
    if (!ok) {
      std::fprintf(stderr, "triage eval: %s\n", error.c_str());
      return 1;
    }
  }
  calib::ProgressBar bar("eval", a.has("--progress"));
  so.progress = [&](size_t done, size_t total) { bar(done, total); };
  calib::ScoreTable t;
  calib::TimedRuns tr;
  calib::ModelSummary model;
  std::string data_hash;
  if (!calib::score_dataset(model_path, data, so, t, &tr, model, data_hash, error)) {
    std::fprintf(stderr, "triage eval: %s\n", error.c_str());
    return 1;
  }
  for (size_t i = 0; audit.is_open() && i < t.size(); ++i) {
    const json extra = {{"label", t.class_names[static_cast<size_t>(t.label[i])]},
                        {"correct", t.label[i] == tr.routed_class[i]}};
    const std::string members = dump(extra);
    if (!audit.write({data[i].path, t.class_names[static_cast<size_t>(tr.routed_class[i])], tr.routed_confidence[i],
                      tr.routed_fine[i] ? "fine" : "coarse", tr.routed_review[i] != 0, members.substr(1, members.size() - 2),
                      model.router.has_ood ? static_cast<int>(tr.routed_unknown[i]) : -1},
                     error)) {
      std::fprintf(stderr, "triage eval: %s\n", error.c_str());
      return 1;
    }
  }
  const rt::RouterThresholds& th = model.router;  // the policy the engine's routed run used

  // The engine's routed run is the truth; the router rule replayed on the forced passes must agree.
  const calib::RoutedCounts c = calib::count_decisions(t, tr.routed_class, tr.routed_fine);
  size_t parity = 0, reviews = 0, unknowns = 0, unknown_parity = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const calib::Routed r = calib::route_image(t.coarse_row(i), t.fine_row(i), t.ncls, t.good, th);
    parity += r.cls == tr.routed_class[i] && r.escalated == (tr.routed_fine[i] != 0);
    reviews += tr.routed_review[i];
    unknowns += tr.routed_unknown[i];
    // the OOD rule replayed on the forced passes' scores (the pass the routed run decided with)
    const rt::InputStats in{t.in_mean[i], t.in_std[i], true};
    const bool u = tr.routed_fine[i] ? rt::is_unknown(t.fine_ood[i], TRIAGE_ROUTE_FINE, in, th)
                                     : rt::is_unknown(t.coarse_ood[i], TRIAGE_ROUTE_COARSE, in, th);
    unknown_parity += u == (tr.routed_unknown[i] != 0);
  }
  const calib::RoutedCounts cc = calib::count_decisions(t, calib::decide_all(t, false, th), {});
  const calib::RoutedCounts cf = calib::count_decisions(t, calib::decide_all(t, true, th), {});
  const calib::RoutedCounts ca = calib::count_decisions(t, tr.fine_all_class, {});
  const double bound = clopper_pearson_upper(c.escapes, c.defective, confidence);
  double tok_r = 0, tok_a = 0;
  for (size_t i = 0; i < t.size(); ++i) tok_r += tr.routed_tokens[i], tok_a += tr.fine_all_tokens[i];
  const double mean_r = mean(tr.routed_ms), mean_a = mean(tr.fine_all_ms);

  const bool has_good = t.good >= 0;  // a model without a good class: no escape figures, no good exit
  json j;
  j["model"] = {{"name", model.name}, {"path", model_path}, {"dtype", model.dtype}, {"isa", model.isa},
                {"threads", model.threads}, {"router_calibrated", th.calibrated}, {"fail_safe", th.fail_safe},
                {"thresholds", {{"coarse_good", th.coarse_good}, {"coarse_defect", th.coarse_defect},
                                {"fine_good", th.fine_good}, {"review", th.review}}}};
  j["data"] = a.get("--data");
  j["data_sha256"] = data_hash;
  j["images"] = c.images;
  j["good"] = c.good;
  j["defective"] = c.defective;
  j["accuracy"] = calib::rate(c.correct, c.images);
  j["has_good_class"] = has_good;
  j["escapes"] = has_good ? json(c.escapes) : json(nullptr);
  j["escape_rate"] = has_good ? json(calib::rate(c.escapes, c.defective)) : json(nullptr);
  j["escape_bound"] = has_good ? json(bound) : json(nullptr);
  j["escape_bound_confidence"] = confidence;
  j["over_rejects"] = has_good ? json(c.over_rejects) : json(nullptr);
  j["over_reject_rate"] = has_good ? json(calib::rate(c.over_rejects, c.good)) : json(nullptr);
  j["escalation_rate"] = calib::rate(c.escalated, c.images);
  j["review_rate"] = calib::rate(reviews, c.images);
  j["ood"] = th.has_ood ? json{{"unknown", unknowns},
                               {"unknown_rate", calib::rate(unknowns, c.images)},
                               {"calibrated_false_flag_rate", th.ood_false_flag},
                               {"engine_vs_rule_agree", unknown_parity}}
                        : json(nullptr);
  j["latency_ms"] = {{"mean", mean_r}, {"p50", percentile(tr.routed_ms, 50)}, {"p99", percentile(tr.routed_ms, 99)},
                     {"max", percentile(tr.routed_ms, 100)}};
  j["fine_all_latency_ms"] = {{"mean", mean_a}, {"p50", percentile(tr.fine_all_ms, 50)},
                              {"p99", percentile(tr.fine_all_ms, 99)}, {"max", percentile(tr.fine_all_ms, 100)}};
  j["relative_cost"] = mean_a > 0 ? mean_r / mean_a : 0;
  j["token_ratio"] = tok_a > 0 ? tok_r / tok_a : 0;
  j["coarse_accuracy"] = calib::rate(cc.correct, cc.images);
  j["fine_accuracy"] = calib::rate(cf.correct, cf.images);
  j["fine_all_accuracy"] = calib::rate(ca.correct, ca.images);
  j["passes"] = {{"coarse_only", summary(cc, confidence, has_good)}, {"fine", summary(cf, confidence, has_good)},
                 {"fine_all", summary(ca, confidence, has_good)}};
  j["router_parity"] = {{"agree", parity}, {"images", t.size()}};
  json classes = json::object();
  const size_t k = static_cast<size_t>(t.ncls);
  // The reject bin per decided class (the engine's routed review flags): how many of the class's
  // decisions go to review, and the purity of the ones that do not.
  std::vector<uint64_t> decided(k, 0), reviewed(k, 0), kept_correct(k, 0);
  for (size_t i = 0; i < t.size(); ++i) {
    const size_t d = static_cast<size_t>(tr.routed_class[i]);
    ++decided[d];
    if (tr.routed_review[i]) ++reviewed[d];
    else kept_correct[d] += tr.routed_class[i] == t.label[i];
  }
  for (size_t r = 0; r < k; ++r) {
    uint64_t tp = c.confusion[r * k + r], row = 0, col = 0;
    for (size_t q = 0; q < k; ++q) row += c.confusion[r * k + q], col += c.confusion[q * k + r];
    classes[t.class_names[r]] = {{"n", row}, {"precision", calib::rate(tp, col)}, {"recall", calib::rate(tp, row)},
                                 {"escapes", has_good ? json(c.class_escapes[r]) : json(nullptr)},
                                 {"decided", decided[r]}, {"review_rate", calib::rate(reviewed[r], decided[r])},
                                 {"purity_not_reviewed", calib::rate(kept_correct[r], decided[r] - reviewed[r])},
                                 {"review_threshold", rt::review_threshold(th, static_cast<int>(r))}};
  }
  j["classes"] = classes;
  json conf = json::array();
  for (size_t r = 0; r < k; ++r) conf.push_back(std::vector<uint64_t>(c.confusion.begin() + r * k, c.confusion.begin() + (r + 1) * k));
  j["confusion"] = conf;
  j["class_names"] = t.class_names;
  AdcReport adc;
  if (!manual_column.empty()) {
    adc = adc_report(manual_column, t.class_names, t.label, tr.routed_class, tr.routed_review);
    j["adc"] = adc_report_json(adc);
  }

  // Escape bound and escalation rate as router.coarse_good_threshold varies (other thresholds kept).
  Series s_bound{"escape bound", {}, {}, "#c0392b"}, s_esc{"escalation rate", {}, {}, "#2e86c1"};
  json curve = json::array();
  for (double g : calib::default_coarse_grid()) {
    if (g > 1 || !has_good) continue;
    rt::RouterThresholds tg = th;
    tg.coarse_good = g;
    tg.fail_safe = false;  // what the thresholds would do once calibrated
    const calib::RoutedCounts cg = calib::count_routed(t, tg);
    const double b = clopper_pearson_upper(cg.escapes, cg.defective, confidence), e = calib::rate(cg.escalated, cg.images);
    curve.push_back({{"coarse_good", g}, {"escapes", cg.escapes}, {"escape_bound", b}, {"escalation_rate", e}});
    s_bound.x.push_back(1 - g), s_bound.y.push_back(b);
    s_esc.x.push_back(1 - g), s_esc.y.push_back(e);
  }
  j["threshold_curve"] = curve;

  if (!plots.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(plots, ec);
    std::vector<Marker> now;
    if (th.coarse_good <= 1) now.push_back({1 - th.coarse_good, "model"});
    const std::string title = model.name + " on " + std::filesystem::path(a.get("--data")).filename().string();
    Series lat_r{"routed", {}, tr.routed_ms, "#2e86c1"}, lat_a{"fine-all", {}, tr.fine_all_ms, "#c0392b"};
    if (!write_text(plots + "/confusion.svg", svg_confusion("confusion (routed): " + title, t.class_names, c.confusion), error) ||
        (has_good && !write_text(plots + "/router_curve.svg",
                    svg_lines("escape bound (" + std::to_string(confidence).substr(0, 4) + ") and escalation vs coarse good threshold: " + title,
                              "1 - router.coarse_good_threshold", "rate", {s_bound, s_esc}, true, true, now),
                    error)) ||
        !write_text(plots + "/latency.svg",
                    svg_histogram("latency per image: " + title, "ms", {lat_r, lat_a}, 60,
                                  {{percentile(tr.routed_ms, 50), "p50"}, {percentile(tr.routed_ms, 99), "p99"}}),
                    error) ||
        (!manual_column.empty() &&
         !write_text(plots + "/adc_report.svg", adc_report_svg(adc, "ADC report (manual column " + manual_column + "): " + title), error))) {
      std::fprintf(stderr, "triage eval: %s\n", error.c_str());
      return 1;
    }
    j["plots"] = plots;
  }

  if (a.has("--json")) {
    std::printf("%s\n", dump(j).c_str());
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  std::printf("model        %s (%s, %s, %u threads), router %s: coarse_good %.9g fine_good %.9g coarse_defect %.9g review %.9g\n",
              printable(model.name).c_str(), model.dtype.c_str(), model.isa.c_str(), model.threads,
              th.calibrated ? "calibrated" : th.fail_safe ? "UNCALIBRATED (fail-safe: good never decided)" : "UNCALIBRATED",
              th.coarse_good, th.fine_good, th.coarse_defect, th.review);
  std::printf("data         %s: %llu images (%llu good, %llu defective)\n", printable(a.get("--data")).c_str(),
              static_cast<unsigned long long>(c.images), static_cast<unsigned long long>(c.good),
              static_cast<unsigned long long>(c.defective));
  std::printf("accuracy     %s routed | coarse only %s | fine (K=%u) %s | fine-all %s\n", pct(j["accuracy"]).c_str(),
              pct(j["coarse_accuracy"]).c_str(), model.topk, pct(j["fine_accuracy"]).c_str(), pct(j["fine_all_accuracy"]).c_str());
  if (has_good) {
    std::printf("escapes      %llu / %llu defective (%s); upper bound %s at confidence %g\n",
                static_cast<unsigned long long>(c.escapes), static_cast<unsigned long long>(c.defective),
                pct(calib::rate(c.escapes, c.defective)).c_str(), pct(bound).c_str(), confidence);
    std::printf("over-reject  %llu / %llu good (%s)\n", static_cast<unsigned long long>(c.over_rejects),
                static_cast<unsigned long long>(c.good), pct(calib::rate(c.over_rejects, c.good)).c_str());
  } else {
    std::printf("escapes      none defined: the model has no good class (no good exit)\n");
  }
  std::printf("routing      escalated %s (good %s, defective %s), review %s, engine vs router rule: %zu/%zu agree\n",
              pct(j["escalation_rate"]).c_str(), pct(calib::rate(c.escalated_good, c.good)).c_str(),
              pct(calib::rate(c.escalated_defective, c.defective)).c_str(), pct(j["review_rate"]).c_str(), parity, t.size());
  if (th.has_ood)
    std::printf("unknown      %zu / %zu images flagged out of distribution (%s; calibrated in-distribution false-flag "
                "rate <= %g), engine vs OOD rule: %zu/%zu agree\n",
                unknowns, t.size(), pct(calib::rate(unknowns, c.images)).c_str(), th.ood_false_flag, unknown_parity, t.size());
  std::printf("latency      routed mean %.3f p50 %.3f p99 %.3f max %.3f ms | fine-all mean %.3f p50 %.3f p99 %.3f ms\n", mean_r,
              percentile(tr.routed_ms, 50), percentile(tr.routed_ms, 99), percentile(tr.routed_ms, 100), mean_a,
              percentile(tr.fine_all_ms, 50), percentile(tr.fine_all_ms, 99));
  std::printf("cost         routed / fine-all: time %.3f, tokens %.3f (%.1f vs %.1f per image)\n", j["relative_cost"].get<double>(),
              j["token_ratio"].get<double>(), t.size() ? tok_r / static_cast<double>(t.size()) : 0,
              t.size() ? tok_a / static_cast<double>(t.size()) : 0);
  std::printf("per class    %-18s %6s %9s %9s %7s %9s %8s %9s\n", "", "n", "precision", "recall", "escapes",
              "review at", "reviewed", "purity*");
  for (size_t r = 0; r < k; ++r) {
    const json& cl = classes[t.class_names[r]];
    std::printf("             %-18s %6llu %9s %9s %7s %9.4g %8s %9s\n", printable(t.class_names[r]).c_str(),
                static_cast<unsigned long long>(cl["n"].get<uint64_t>()), pct(cl["precision"]).c_str(),
                pct(cl["recall"]).c_str(), has_good ? std::to_string(c.class_escapes[r]).c_str() : "-",
                cl["review_threshold"].get<double>(), pct(cl["review_rate"]).c_str(), pct(cl["purity_not_reviewed"]).c_str());
  }
  std::printf("             (reviewed: share of the class's decisions flagged for review; purity*: correct share of\n"
              "             the class's decisions not flagged)\n");
  std::printf("confusion    rows = true class, columns = decided (%s)\n", "same order");
  for (size_t r = 0; r < k; ++r) {
    std::printf("  %-18s", printable(t.class_names[r]).c_str());
    for (size_t q = 0; q < k; ++q) std::printf(" %6llu", static_cast<unsigned long long>(c.confusion[r * k + q]));
    std::printf("\n");
  }
  if (!manual_column.empty()) std::fputs(adc_report_text(adc).c_str(), stdout);
  if (!plots.empty())
    std::printf("plots        %s/{confusion,router_curve,latency%s}.svg\n", printable(plots).c_str(),
                manual_column.empty() ? "" : ",adc_report");
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace triage::cli
