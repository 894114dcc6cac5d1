// `triage run` with ground truth (the main job prints whether each labelled sample was right): a
// labels.csv inside an input folder, or --labels FILE; per-line truth and right/WRONG, a summary line
// whose counts agree with the lines, JSON fields, and an unlabelled run that prints none of it.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/router/cli_run.h"

namespace triage::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

TEST(RunLabels, FolderLabelsCsvMarksEveryImage) {
  const std::string model = converted_model("awc-wm811k", "q8");
  ASSERT_FALSE(model.empty()) << "models/awc-wm811k is a shipped model and must be present";
  const CliResult r = run_triage({"run", model, source_dir() + "/models/awc-wm811k/samples"});
  ASSERT_EQ(r.status, 0) << r.err;
  size_t right = 0, wrong = 0;
  std::smatch m;
  for (const std::string& l : lines_of(r.out)) {
    if (l.find(".npy") == std::string::npos) continue;
    ASSERT_TRUE(std::regex_search(l, m, std::regex("  (\\S+)  [0-9.]+  (coarse|fine)  .*  truth (\\S+)  (right|WRONG)$"))) << l;
    EXPECT_EQ(m[4] == "right", m[1] == m[3]) << l;
    (m[4] == "right" ? right : wrong)++;
  }
  EXPECT_EQ(right + wrong, 20u);
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("labelled: 20 of 20 images, (\\d+) right \\(([0-9.]+)%\\), escapes (\\d+)")))
      << r.out;
  EXPECT_EQ(std::stoul(m[1]), right);
}

TEST(RunLabels, LabelsFileAndJson) {
  const std::string model = converted_model("awc-wm811k", "q8");
  ASSERT_FALSE(model.empty()) << "models/awc-wm811k is a shipped model and must be present";
  TmpDir d;
  const CliResult first = run_triage({"run", model, source_dir() + "/models/awc-wm811k/samples", "--json"});
  ASSERT_EQ(first.status, 0) << first.err;
  // Take the first image and the class it gets; label it with another class in our own CSV.
  const auto j = nlohmann::json::parse(lines_of(first.out).at(0));
  ASSERT_TRUE(j.contains("label") && j.contains("correct"));
  EXPECT_EQ(j["correct"].get<bool>(), j["label"] == j["class"]);
  const std::string path = j["path"], cls = j["class"];
  const std::string other = cls == "none" ? "Center" : "none";
  write_text(d / "l.csv", "path,label\n" + path + "," + other + "\n");
  const CliResult r = run_triage({"run", model, path, "--labels", d / "l.csv"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("truth " + other + "  WRONG"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("labelled: 1 of 1 images, 0 right"), std::string::npos) << r.out;
  // A single file outside any labelled folder and no --labels: no truth column, no labelled line.
  const CliResult plain = run_triage({"run", model, path});
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.out.find("truth"), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("labelled:"), std::string::npos) << plain.out;
  // A bad labels file is an error that names it, not a silent unlabelled run.
  const CliResult bad = run_triage({"run", model, path, "--labels", d / "missing.csv"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("missing.csv"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace triage::test
