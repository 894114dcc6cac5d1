// `triage calibrate` and `triage eval` end to end on the shipped samples (models/<name>/samples): a new
// model file with the router keys and provenance, refusals, and eval's numbers checked for consistency
// with each other and with calibrate's report on the same data.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/router/cli_run.h"
#include "tools/cli/stats.h"
#include "tools/convert/router_keys.h"
#include "weights_format/trw.h"

namespace triage::test {
namespace {

using json = nlohmann::json;

std::string samples(const std::string& model) { return source_dir() + "/models/" + model + "/samples/labels.csv"; }

// (file, label) rows of a samples/labels.csv (plain "path,label" lines, as make_samples.py writes them).
std::vector<std::pair<std::string, std::string>> sample_rows(const std::string& model) {
  std::vector<std::pair<std::string, std::string>> rows;
  const std::string text = read_text(samples(model));
  size_t pos = text.find('\n');
  while (pos != std::string::npos && pos + 1 < text.size()) {
    const size_t start = pos + 1, end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    pos = end < text.size() ? end : std::string::npos;
    const size_t comma = line.find(',');
    if (comma != std::string::npos) rows.emplace_back(line.substr(0, comma), line.substr(comma + 1));
  }
  return rows;
}

#define NEED_MODEL(var, name)                                                \
  const std::string var = converted_model(name, "q8");                      \
  if (var.empty()) GTEST_SKIP() << "models/" name " not shipped yet"

// A target the 15 defective wafer samples support with a single fine value (m = 1) for any model that
// escapes on at most 5 of them (0 escapes certify 50% at 90% from n = 4).
std::vector<std::string> calibrate_args(const std::string& model, const std::string& out) {
  return {"calibrate", model, "--data", samples("awc-wm811k"), "--target-escape", "0.5", "--confidence", "0.9",
          "--fine-good", "0.5", "-o", out};
}

TEST(CalibrateCli, WritesANewModelWithThresholdsAndProvenance) {
  NEED_MODEL(model, "awc-wm811k");
  TmpDir d;
  std::vector<std::string> args = calibrate_args(model, d / "cal.trw");
  args.insert(args.end(), {"--router-json", d / "router.json", "--json"});
  const CliResult r = run_triage(args);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  const json rep = json::parse(r.out);
  EXPECT_EQ(rep["images"], 20);
  EXPECT_EQ(rep["defective"], 15);
  EXPECT_EQ(rep["good"], 5);
  EXPECT_EQ(rep["data_sha256"].get<std::string>().size(), 64u);
  const uint64_t k = rep["escapes"];
  EXPECT_DOUBLE_EQ(rep["escape_bound"].get<double>(), cli::clopper_pearson_upper(k, 15, 0.9));
  EXPECT_LE(rep["escape_bound"].get<double>(), 0.5);
  EXPECT_EQ(rep["min_defective_zero_escapes"], 4);
  for (const auto& [name, c] : rep["classes"].items()) EXPECT_EQ(c["status"], "insufficient sample") << name;

  trw::Buffer buf;
  trw::File f;
  trw::Error e;
  ASSERT_TRUE(buf.read_file(d / "cal.trw", e) && f.parse(buf.span(), e)) << e.message;
  int64_t cal = 0;
  double cg = 0, fg = 0;
  std::string prov;
  ASSERT_TRUE(f.get_i64("router.calibrated", cal, e) && f.get_f64("router.coarse_good_threshold", cg, e) &&
              f.get_f64("router.fine_good_threshold", fg, e) && f.get_str("router.provenance", prov, e));
  EXPECT_EQ(cal, 1);
  EXPECT_EQ(cg, rep["thresholds"]["coarse_good_threshold"].get<double>());
  EXPECT_EQ(fg, 0.5);
  const json p = json::parse(prov);
  for (const char* key : {"method", "target_escape", "confidence", "data_sha256", "images", "defective", "escapes",
                          "escape_bound", "classes", "over_rejects", "escalation_rate", "date", "tool"})
    EXPECT_TRUE(p.contains(key)) << key;
  EXPECT_EQ(p["data_sha256"], rep["data_sha256"]);

  convert::RouterKeys keys;
  convert::Error cerr;
  ASSERT_TRUE(convert::parse_router_json(read_text(d / "router.json"), "router.json", keys, cerr)) << cerr.message;
  EXPECT_EQ(keys.coarse_good, cg);
  std::string why;
  EXPECT_TRUE(convert::router_matches(keys, f, why)) << why;

  // The same data listed in another order, from another folder, with absolute paths: same hash.
  std::string csv = "label,path\n";
  std::vector<std::string> lines;
  for (const auto& [file, label] : sample_rows("awc-wm811k"))
    lines.push_back(label + "," + source_dir() + "/models/awc-wm811k/samples/" + file);
  std::reverse(lines.begin(), lines.end());
  for (const auto& l : lines) csv += l + "\n";
  write_text(d / "shuffled.csv", csv);
  args = calibrate_args(model, d / "cal2.trw");
  args[3] = d / "shuffled.csv";
  args.push_back("--json");
  const CliResult r2 = run_triage(args);
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(json::parse(r2.out)["data_sha256"], rep["data_sha256"]);
  EXPECT_EQ(json::parse(r2.out)["thresholds"], rep["thresholds"]);
}

TEST(CalibrateCli, RefusesToOverwriteItsInput) {
  NEED_MODEL(model, "awc-wm811k");
  const std::string before = read_text(model);
  const CliResult r = run_triage(calibrate_args(model, model));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("refusing to overwrite the input model"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(model), before);
}

TEST(CalibrateCli, RefusesWhenTheDataCannotSupportTheBound) {
  NEED_MODEL(model, "awc-wm811k");
  TmpDir d;
  std::vector<std::string> args = calibrate_args(model, d / "cal.trw");
  args[5] = "0.01";  // --target-escape: 0 escapes in n certify 1% at 90% only from n = 230
  const CliResult r = run_triage(args);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("needs at least 230 defective images"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("15 defective images"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d / "cal.trw"));
}

// --ood-false-flag end to end on the 20 wafer samples: A = 0.5 is certifiable with 20 images (energy
// k = ceil(21 * 0.75) = 16, range ends k = floor(21 / 16) = 1), 0.01 is not; the written model flags
// exactly the images whose scores fall outside what the report says.
TEST(CalibrateCli, OodThresholdsWrittenAndApplied) {
  NEED_MODEL(model, "awc-wm811k");
  TmpDir d;
  std::vector<std::string> args = calibrate_args(model, d / "cal.trw");
  args.insert(args.end(), {"--ood-false-flag", "0.5", "--router-json", d / "router.json", "--json"});
  const CliResult r = run_triage(args);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  const json rep = json::parse(r.out);
  ASSERT_TRUE(rep.contains("ood")) << r.out;
  EXPECT_EQ(rep["ood"]["energy_coarse"]["rank"], 16);
  EXPECT_EQ(rep["ood"]["input_mean"]["k"], 1);
  EXPECT_LE(rep["ood"]["false_flag_bound"].get<double>(), 0.5);
  const json router = json::parse(read_text(d / "router.json"))["router"];
  for (const char* k : {"ood_coarse_threshold", "ood_fine_threshold", "ood_input_mean_lo", "ood_input_mean_hi",
                        "ood_input_std_lo", "ood_input_std_hi", "ood_false_flag_rate"})
    EXPECT_TRUE(router.contains(k)) << k;
  EXPECT_EQ(router["ood_coarse_threshold"], rep["ood"]["energy_coarse"]["threshold"]);
  // The calibrated file flags by the rule: recompute it from the run's own scores.
  const CliResult run = run_triage({"run", d / "cal.trw", source_dir() + "/models/awc-wm811k/samples", "--json"});
  ASSERT_EQ(run.status, 0) << run.err;
  size_t n = 0, flagged = 0;
  std::istringstream in(run.out);
  for (std::string l; std::getline(in, l);) {
    const json j = json::parse(l);
    if (j.contains("summary")) continue;
    ++n;
    const double e = j["ood"]["energy"], m = j["ood"]["input_mean"], s = j["ood"]["input_std"];
    const double te = router[j["route"] == "fine" ? "ood_fine_threshold" : "ood_coarse_threshold"];
    const bool want = e > te || m < router["ood_input_mean_lo"].get<double>() || m > router["ood_input_mean_hi"].get<double>() ||
                      s < router["ood_input_std_lo"].get<double>() || s > router["ood_input_std_hi"].get<double>();
    EXPECT_EQ(j["unknown"].get<bool>(), want) << l;
    flagged += want;
  }
  EXPECT_EQ(n, 20u);
  EXPECT_GT(flagged, 0u);  // A = 0.5 flags some of the very images it was calibrated on
  EXPECT_LT(flagged, n);
  // 0.01 cannot be certified with 20 images: refused, nothing written.
  args = calibrate_args(model, d / "cal2.trw");
  args.insert(args.end(), {"--ood-false-flag", "0.01"});
  const CliResult refused = run_triage(args);
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("cannot certify a false-flag rate"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(d / "cal2.trw"));
}

TEST(CalibrateCli, UnknownLabelsAndUsageErrors) {
  NEED_MODEL(model, "awc-wm811k");
  TmpDir d;
  const auto rows = sample_rows("awc-wm811k");
  ASSERT_FALSE(rows.empty());
  write_text(d / "x.csv", "path,label\n" + source_dir() + "/models/awc-wm811k/samples/" + rows[0].first + ",Donutt\n");
  CliResult r = run_triage({"eval", model, "--data", d / "x.csv"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("label 'Donutt' is not a class of awc-wm811k (Center, Donut,"), std::string::npos) << r.err;
  r = run_triage({"calibrate", model, "--data", samples("awc-wm811k"), "--target-escape", "1.5", "--confidence", "0.9",
                  "-o", d / "o.trw"});
  EXPECT_EQ(r.status, 2);
  r = run_triage({"calibrate", model, "--data", samples("awc-wm811k"), "-o", d / "o.trw"});
  EXPECT_EQ(r.status, 2);
}

// eval on the calibrated model: the required keys, numbers consistent with each other, with the
// Clopper-Pearson bound, and with calibrate's own report (same data, same thresholds).
TEST(EvalCli, JsonIsCompleteAndConsistentWithCalibrate) {
  NEED_MODEL(model, "awc-wm811k");
  TmpDir d;
  std::vector<std::string> args = calibrate_args(model, d / "cal.trw");
  args.push_back("--json");
  const CliResult c = run_triage(args);
  ASSERT_EQ(c.status, 0) << c.err;
  const json cal = json::parse(c.out);
  const CliResult r = run_triage({"eval", d / "cal.trw", "--data", samples("awc-wm811k"), "--json", "--plots", d / "plots"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  for (const char* key : {"images", "accuracy", "escapes", "escape_bound", "over_rejects", "escalation_rate", "latency_ms",
                          "relative_cost", "token_ratio", "coarse_accuracy", "fine_accuracy", "classes", "confusion"})
    ASSERT_TRUE(j.contains(key)) << key;
  for (const char* key : {"mean", "p50", "p99", "max"}) ASSERT_TRUE(j["latency_ms"].contains(key)) << key;
  const uint64_t n = j["images"], def = j["defective"], esc = j["escapes"];
  EXPECT_EQ(n, 20u);
  EXPECT_EQ(j["router_parity"]["agree"], n);  // the engine's routed run == the router rule on forced passes
  EXPECT_DOUBLE_EQ(j["escape_bound"].get<double>(), cli::clopper_pearson_upper(esc, def, 0.95));
  uint64_t trace = 0, total = 0, good_row_good = 0;
  const auto& conf = j["confusion"];
  for (size_t a = 0; a < conf.size(); ++a)
    for (size_t b = 0; b < conf.size(); ++b) {
      total += conf[a][b].get<uint64_t>();
      if (a == b) trace += conf[a][b].get<uint64_t>();
    }
  const size_t good = conf.size() - 1;  // "none" is the last wafer class
  for (size_t a = 0; a < good; ++a) good_row_good += conf[a][good].get<uint64_t>();
  EXPECT_EQ(total, n);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), static_cast<double>(trace) / n);
  EXPECT_EQ(good_row_good, esc);  // escapes = defective rows, "none" column
  EXPECT_LE(j["latency_ms"]["p50"].get<double>(), j["latency_ms"]["p99"].get<double>());
  EXPECT_LE(j["latency_ms"]["p99"].get<double>(), j["latency_ms"]["max"].get<double>());
  EXPECT_GT(j["relative_cost"].get<double>(), 0);
  EXPECT_GT(j["token_ratio"].get<double>(), 0);
  EXPECT_LE(j["token_ratio"].get<double>(), 1);
  // Same data and thresholds: calibrate's simulated routing and eval's engine run agree.
  EXPECT_EQ(j["escapes"], cal["escapes"]);
  EXPECT_EQ(j["over_rejects"], cal["over_rejects"]);
  EXPECT_DOUBLE_EQ(j["escalation_rate"].get<double>(), cal["escalation_rate"].get<double>());
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), cal["accuracy"].get<double>());
  for (const char* svg : {"confusion.svg", "router_curve.svg", "latency.svg"}) {
    const std::string s = read_text(d / ("plots/" + std::string(svg)));
    EXPECT_EQ(s.rfind("<svg", 0), 0u) << svg;
    EXPECT_NE(s.find("</svg>"), std::string::npos) << svg;
  }
}

// Folder mode gives the same evaluation as the CSV, on the DeepPCB samples (a label folder per class).
TEST(EvalCli, FolderModeMatchesCsv) {
  NEED_MODEL(model, "adc-pcb");
  TmpDir d;
  for (const auto& [file, label] : sample_rows("adc-pcb")) {
    std::filesystem::create_directories(d / ("data/" + label));
    std::filesystem::copy_file(source_dir() + "/models/adc-pcb/samples/" + file, d / ("data/" + label + "/" + file));
  }
  const CliResult a = run_triage({"eval", model, "--data", samples("adc-pcb"), "--json"});
  const CliResult b = run_triage({"eval", model, "--data", d / "data", "--json"});
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  const json ja = json::parse(a.out), jb = json::parse(b.out);
  for (const char* key : {"images", "accuracy", "escapes", "over_rejects", "escalation_rate", "confusion", "data_sha256"})
    EXPECT_EQ(ja[key], jb[key]) << key;
  EXPECT_EQ(ja["images"], 20);
  const CliResult t = run_triage({"eval", model, "--data", d / "data"});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("escapes"), std::string::npos);
  EXPECT_NE(t.out.find("routed / fine-all"), std::string::npos) << t.out;
}

}  // namespace
}  // namespace triage::test
