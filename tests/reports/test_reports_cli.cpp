// `triage run --audit`, `triage eval --audit` and `triage eval --manual-column` end to end on the
// shipped wafer samples: the log appends across runs with one line per decision matching the printed
// decision; the ADC report matches the decisions of `triage run` against the manual column (not the
// `label` column), in text, JSON and SVG; an unwritable log is refused before any work.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "tests/router/cli_run.h"

namespace triage::test {
namespace {

using json = nlohmann::json;

#define NEED_MODEL(var)                                        \
  const std::string var = converted_model("awc-wm811k", "q8"); \
  if (var.empty()) GTEST_SKIP() << "models/awc-wm811k not shipped"

std::string samples() { return source_dir() + "/models/awc-wm811k/samples"; }

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  size_t p = 0;
  while (p < text.size()) {
    const size_t e = std::min(text.find('\n', p), text.size());
    if (e > p) out.push_back(json::parse(text.substr(p, e - p)));
    p = e + 1;
  }
  return out;
}

std::string sha256sum(const std::string& path) {
  std::string out;
  if (FILE* p = ::popen(("sha256sum '" + path + "'").c_str(), "r")) {
    char b[256];
    while (std::fgets(b, sizeof b, p)) out += b;
    ::pclose(p);
  }
  return out.substr(0, 64);
}

// (absolute path, label) of the shipped samples.
std::vector<std::pair<std::string, std::string>> sample_rows() {
  std::vector<std::pair<std::string, std::string>> rows;
  const std::string text = read_text(samples() + "/labels.csv");
  size_t p = text.find('\n') + 1;
  while (p < text.size()) {
    const size_t e = std::min(text.find('\n', p), text.size());
    const std::string line = text.substr(p, e - p);
    p = e + 1;
    const size_t c = line.find(',');
    if (c != std::string::npos) rows.emplace_back(samples() + "/" + line.substr(0, c), line.substr(c + 1));
  }
  return rows;
}

TEST(AuditCli, RunAppendsOneLinePerDecision) {
  NEED_MODEL(model);
  TmpDir d;
  const std::string log = d / "audit.jsonl";
  const auto rows = sample_rows();
  ASSERT_GE(rows.size(), 3u);
  const CliResult r1 = run_triage({"run", model, rows[0].first, rows[1].first, "--json", "--audit", log});
  ASSERT_EQ(r1.status, 0) << r1.err;
  const CliResult r2 = run_triage({"run", model, rows[2].first, "--json", "--audit", log});
  ASSERT_EQ(r2.status, 0) << r2.err;
  std::vector<json> printed = json_lines(r1.out);
  const std::vector<json> more = json_lines(r2.out);
  printed.erase(printed.end() - 1);  // the summaries
  printed.push_back(more[0]);
  const std::vector<json> logged = json_lines(read_text(log));
  ASSERT_EQ(logged.size(), 3u);
  const std::string model_sha = sha256sum(model);
  for (size_t i = 0; i < 3; ++i) {
    const json& l = logged[i];
    EXPECT_EQ(l["input"], rows[i].first);
    EXPECT_EQ(l["input_sha256"], sha256sum(rows[i].first));
    EXPECT_EQ(l["model"], "awc-wm811k");
    EXPECT_EQ(l["model_sha256"], model_sha);
    EXPECT_EQ(l["class"], printed[i]["class"]);
    EXPECT_EQ(l["route"], printed[i]["route"]);
    EXPECT_EQ(l["review"], printed[i]["review"]);
    EXPECT_NEAR(l["confidence"].get<double>(), printed[i]["confidence"].get<double>(), 1e-6);
    EXPECT_TRUE(l["thresholds"].contains("coarse_good"));
    EXPECT_EQ(l["time"].get<std::string>().size(), 24u);
  }
}

TEST(AuditCli, UnwritableLogIsRefusedBeforeAnyWork) {
  NEED_MODEL(model);
  TmpDir d;
  const auto rows = sample_rows();
  for (const char* cmd : {"run", "eval"}) {
    std::vector<std::string> args = {cmd, model};
    if (std::string(cmd) == "run") args.push_back(rows[0].first);
    else args.insert(args.end(), {"--data", samples() + "/labels.csv"});
    args.insert(args.end(), {"--audit", d / "missing/dir/audit.jsonl"});
    const CliResult r = run_triage(args);
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_EQ(r.out, "") << cmd;
    EXPECT_NE(r.err.find("cannot open the audit log"), std::string::npos) << cmd << ": " << r.err;
  }
}

TEST(AdcReportCli, ManualColumnReportMatchesTheDecisions) {
  NEED_MODEL(model);
  TmpDir d;
  const auto rows = sample_rows();
  // The engineer's class in `manual_class`; a `label` column that says something else must be ignored.
  std::string csv = "path,label,manual_class,operator\n";
  for (const auto& [path, label] : rows) csv += path + ",none," + label + ",jd\n";
  write_text(d / "review.csv", csv);
  std::vector<std::string> files;
  for (const auto& r : rows) files.push_back(r.first);
  std::vector<std::string> run_args = {"run", model, "--json"};
  run_args.insert(run_args.end(), files.begin(), files.end());
  const CliResult run = run_triage(run_args);
  ASSERT_EQ(run.status, 0) << run.err;
  std::vector<json> decided = json_lines(run.out);
  decided.pop_back();
  ASSERT_EQ(decided.size(), rows.size());

  const CliResult ev = run_triage({"eval", model, "--data", d / "review.csv", "--manual-column", "manual_class", "--json",
                                   "--plots", d / "plots", "--audit", d / "eval.jsonl"});
  ASSERT_EQ(ev.status, 0) << ev.err;
  const json j = json::parse(ev.out);
  const json& adc = j["adc"];
  EXPECT_EQ(adc["manual_column"], "manual_class");
  EXPECT_EQ(adc["defects"], rows.size());
  // Recount from `triage run`'s decisions.
  std::map<std::string, int> manual, autoc, correct, rejected;
  int total_correct = 0, total_rejected = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string m = rows[i].second, a = decided[i]["class"];
    ++manual[m], ++autoc[a];
    correct[m] += m == a;
    rejected[m] += decided[i]["review"].get<bool>();
    total_correct += m == a;
    total_rejected += decided[i]["review"].get<bool>();
  }
  EXPECT_EQ(adc["correct"], total_correct);
  EXPECT_EQ(adc["rejected"], total_rejected);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), double(total_correct) / rows.size());  // truth = manual column
  int seen = 0;
  for (const auto& [name, c] : adc["classes"].items()) {
    EXPECT_EQ(c["manual"], manual[name]) << name;
    EXPECT_EQ(c["auto"], autoc[name]) << name;
    EXPECT_EQ(c["correct"], correct[name]) << name;
    EXPECT_EQ(c["rejected"], rejected[name]) << name;
    if (manual[name]) {
      EXPECT_DOUBLE_EQ(c["accuracy"].get<double>(), double(correct[name]) / manual[name]) << name;
    }
    if (autoc[name]) {
      EXPECT_DOUBLE_EQ(c["purity"].get<double>(), double(correct[name]) / autoc[name]) << name;
    }
    EXPECT_DOUBLE_EQ(c["contribution"].get<double>(), double(manual[name]) / rows.size()) << name;
    seen += manual[name] > 0;
  }
  EXPECT_GE(seen, 5);  // the samples span most classes
  const std::string svg = read_text(d / "plots/adc_report.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("Edge-Ring"), std::string::npos);

  // The eval audit log: one line per image, with the label.
  const std::vector<json> logged = json_lines(read_text(d / "eval.jsonl"));
  ASSERT_EQ(logged.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(logged[i]["input"], rows[i].first);
    EXPECT_EQ(logged[i]["label"], rows[i].second);
    EXPECT_EQ(logged[i]["class"], decided[i]["class"]);
    EXPECT_EQ(logged[i]["correct"], rows[i].second == decided[i]["class"]);
  }

  // The text report.
  const CliResult txt = run_triage({"eval", model, "--data", d / "review.csv", "--manual-column", "manual_class"});
  ASSERT_EQ(txt.status, 0) << txt.err;
  EXPECT_NE(txt.out.find("ADC report   manual class column 'manual_class': " + std::to_string(rows.size()) + " defects"),
            std::string::npos)
      << txt.out;
  EXPECT_NE(txt.out.find("contribution"), std::string::npos);
}

TEST(AdcReportCli, Refusals) {
  NEED_MODEL(model);
  TmpDir d;
  write_text(d / "r.csv", "path,label\n" + sample_rows()[0].first + ",none\n");
  CliResult r = run_triage({"eval", model, "--data", d / "r.csv", "--manual-column", "manual_class"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("r.csv:1: the header must name the columns 'path' and 'manual_class'"), std::string::npos) << r.err;
  r = run_triage({"eval", model, "--data", samples(), "--manual-column", "manual_class"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("a folder has no column 'manual_class'"), std::string::npos) << r.err;
  write_text(d / "e.csv", "path,manual_class\n" + sample_rows()[0].first + ",\n");
  r = run_triage({"eval", model, "--data", d / "e.csv", "--manual-column", "manual_class"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("e.csv:2: empty manual_class"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace triage::test
