// The shipped models' out-of-distribution thresholds (models/<name>/router.json, `triage calibrate
// --ood-false-flag`) on data each model never saw: the other shipped models' samples. A wafer-map model
// shown board sites or die photographs, or the die-photo model shown wafer maps or board sites, must
// flag (nearly) all of them unknown; each model's own samples are rarely flagged. adc-pcb is the weak
// case (a wafer map is a near-black square to it, like its own blank sites; docs/router-calibration.md):
// it is held to flagging a quarter of the die photographs.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/router/cli_run.h"

namespace triage::test {
namespace {

// Flagged share of `samples` (a models/<name>/samples folder) under the calibrated q8 model.
double unknown_share(const std::string& model, const std::string& samples) {
  const CliResult r = run_triage({"run", model, source_dir() + "/models/" + samples + "/samples", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  size_t n = 0, unknown = 0;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) {
    const nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded() || j.contains("summary")) continue;
    EXPECT_TRUE(j.contains("unknown")) << "a model with OOD thresholds prints the flag: " << l;
    ++n;
    unknown += j.value("unknown", false);
  }
  EXPECT_GE(n, 10u) << samples;
  return n ? static_cast<double>(unknown) / static_cast<double>(n) : 0.0;
}

std::string calibrated(const std::string& name, const TmpDir& tmp) {
  const std::string out = tmp / (name + ".trw");
  const CliResult r = run_triage({"convert", source_dir() + "/models/" + name, "--dtype", "q8", "-o", out, "--router",
                                  source_dir() + "/models/" + name + "/router.json", "--quiet"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("not applied"), std::string::npos) << "router.json must match the checkpoint: " << r.err;
  return out;
}

TEST(ShippedOod, ForeignSamplesAreFlaggedOwnAreNot) {
  TmpDir tmp;
  const std::string awc = calibrated("awc-wm811k", tmp), pcb = calibrated("adc-pcb", tmp),
                    opt = calibrated("adc-optical", tmp);
  EXPECT_GE(unknown_share(awc, "adc-pcb"), 0.9);
  EXPECT_GE(unknown_share(awc, "adc-optical"), 0.9);
  EXPECT_LE(unknown_share(awc, "awc-wm811k"), 0.1);
  EXPECT_GE(unknown_share(opt, "adc-pcb"), 0.9);
  EXPECT_GE(unknown_share(opt, "awc-wm811k"), 0.9);
  EXPECT_LE(unknown_share(opt, "adc-optical"), 0.1);
  EXPECT_GE(unknown_share(pcb, "adc-optical"), 0.25);
  EXPECT_LE(unknown_share(pcb, "adc-pcb"), 0.1);
}

}  // namespace
}  // namespace triage::test
