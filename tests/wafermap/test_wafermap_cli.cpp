// `triage run` on wafer maps from the tester: one map as .npy, SINF and SEMI E142 gets the same
// decision from the shipped wafer model (the committed synthetic sample, and a real WM-811K sample
// written out as SINF and E142 here), a folder of maps is listed, and a malformed map is refused with
// the file and line named.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/router/cli_run.h"
#include "tests/wafermap/wafer_text.h"

namespace triage::test {
namespace {

using json = nlohmann::json;

#define NEED_MODEL(var)                                        \
  const std::string var = converted_model("awc-wm811k", "q8"); \
  if (var.empty()) GTEST_SKIP() << "models/awc-wm811k not shipped"

// The JSON decision lines of `triage run ... --json`, without the summary.
std::vector<json> decisions(const std::vector<std::string>& args) {
  const CliResult r = run_triage(args);
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<json> out;
  size_t p = 0;
  while (p < r.out.size()) {
    const size_t e = std::min(r.out.find('\n', p), r.out.size());
    const json j = json::parse(r.out.substr(p, e - p), nullptr, false);
    p = e + 1;
    if (!j.is_discarded() && !j.contains("summary")) out.push_back(j);
  }
  return out;
}

void expect_same(const std::vector<json>& d) {
  ASSERT_GE(d.size(), 2u);
  for (size_t i = 1; i < d.size(); ++i) {
    EXPECT_EQ(d[i]["class"], d[0]["class"]) << d[i]["path"];
    EXPECT_EQ(d[i]["confidence"], d[0]["confidence"]) << d[i]["path"];
    EXPECT_EQ(d[i]["route"], d[0]["route"]) << d[i]["path"];
    EXPECT_EQ(d[i]["probabilities"], d[0]["probabilities"]) << d[i]["path"];
  }
}

TEST(WaferMapCli, SampleAsNpySinfAndE142DecidesTheSame) {
  NEED_MODEL(model);
  const std::string s = source_dir() + "/tests/wafermap/samples/";
  const auto d = decisions({"run", model, s + "synthetic_center.npy", s + "synthetic_center.sinf",
                            s + "synthetic_center.xml", s + "synthetic_center_hex.e142", "--json"});
  ASSERT_EQ(d.size(), 4u);
  expect_same(d);
}

TEST(WaferMapCli, RealWm811kMapWrittenAsSinfAndE142DecidesTheSame) {
  NEED_MODEL(model);
  // The first .npy sample of the shipped model, re-written by the test in both tester formats.
  std::vector<std::string> npys;
  for (const auto& e : std::filesystem::directory_iterator(source_dir() + "/models/awc-wm811k/samples"))
    if (e.path().extension() == ".npy") npys.push_back(e.path().string());
  ASSERT_FALSE(npys.empty());
  std::sort(npys.begin(), npys.end());
  std::mt19937 rng(3);
  TmpDir d;
  for (size_t k = 0; k < 3 && k < npys.size(); ++k) {
    const std::string text = read_text(npys[k]);
    cli::Image img;
    std::string err;
    ASSERT_TRUE(cli::decode_npy({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, img, err)) << err;
    const cli::DieGrid g = grid_of(img);
    const std::string base = d / ("map" + std::to_string(k));
    write_text(base + ".sinf", sinf_text(g, static_cast<uint32_t>(90 * ((k + 1) % 4)), rng));
    write_text(base + ".xml", e142_text(g, static_cast<uint32_t>(90 * (k % 4)), E142Type::hex, rng));
    expect_same(decisions({"run", model, npys[k], base + ".sinf", base + ".xml", "--json"}));
  }
}

TEST(WaferMapCli, FolderOfMapsAndAMalformedMap) {
  NEED_MODEL(model);
  TmpDir d;
  std::mt19937 rng(5);
  const cli::DieGrid g = random_grid(rng, 40, 44);
  write_text(d / "a.sinf", sinf_text(g, 180, rng));
  write_text(d / "b.e142", e142_text(g, 0, E142Type::ascii, rng));
  write_text(d / "notes.txt", "not a map");
  EXPECT_EQ(decisions({"run", model, d.path, "--json"}).size(), 2u);  // .txt is not listed

  write_text(d / "bad.sinf", "DEVICE:X\nROWCT:2\nRowData:01 01\nRowData:01 zz\n");
  const CliResult r = run_triage({"run", model, d / "bad.sinf", "--allow-uncalibrated"});  // no fail-safe warning
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("bad.sinf: SINF line 4: die 2: bin code 'zz' is not 1-4 hex digits"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace triage::test
