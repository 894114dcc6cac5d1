// The built `triage` program end to end: convert then inspect succeed; usage errors, a corrupted
// file and overwriting the input fail with a non-zero status and exactly one line on stderr.
#include <gtest/gtest.h>

#include "tests/common/run_triage.h"
#include "tests/convert/fixtures.h"

namespace triage::test {
namespace {

size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

TEST(Cli, ConvertThenInspect) {
  TempDir dir;
  const std::string ckpt = write_model(dir, tiny_cfvit(1));
  CliResult c = run_triage({"convert", ckpt, "-o", dir.path("m.trw")});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err, "");
  EXPECT_NE(c.out.find("blocks.0.attn.qkv.weight"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("output      " + dir.path("m.trw")), std::string::npos) << c.out;

  CliResult i = run_triage({"inspect", dir.path("m.trw")});
  ASSERT_EQ(i.status, 0) << i.err;
  EXPECT_NE(i.out.find("checksums   ok"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("router.coarse_good_threshold"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("stem.1.weight"), std::string::npos) << i.out;
  // The thresholds in force: a fresh conversion is uncalibrated, so the engine is fail-safe with it
  // (the good class named; inspect once read it from a closed model: a crash).
  EXPECT_NE(i.out.find("router      NOT calibrated"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("in force  fail-safe: 'good' is never decided"), std::string::npos) << i.out;

  CliResult j = run_triage({"inspect", dir.path("m.trw"), "--json"});
  ASSERT_EQ(j.status, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["valid"], true);
  EXPECT_EQ(doc["metadata"]["converter.dtype"], "q8");
  EXPECT_EQ(doc["metadata"]["arch.stem_channels"], nlohmann::json({4, 8}));
  EXPECT_EQ(doc["router"]["policy"], "fail-safe");
  EXPECT_EQ(doc["router"]["calibrated"], false);
}

TEST(Cli, ConvertJsonReportAndDtypes) {
  TempDir dir;
  const std::string ckpt = write_model(dir, tiny_vit(2));
  for (const char* dt : {"f32", "f16", "bf16", "q8"}) {
    CliResult c = run_triage({"convert", ckpt, "--dtype", dt, "-o", dir.path(std::string(dt) + ".trw"), "--json"});
    ASSERT_EQ(c.status, 0) << c.err;
    EXPECT_EQ(lines(c.out), 1u);
    auto doc = nlohmann::json::parse(c.out);
    EXPECT_EQ(doc["dtype"], dt);
    EXPECT_EQ(doc["output"], dir.path(std::string(dt) + ".trw"));
  }
}

TEST(Cli, InspectCorruptedFileFailsWithOneLine) {
  TempDir dir;
  const std::string ckpt = write_model(dir, tiny_vit(3));
  ASSERT_EQ(run_triage({"convert", ckpt, "-o", dir.path("m.trw"), "--quiet"}).status, 0);
  auto bytes = read_bytes(dir.path("m.trw"));
  bytes[bytes.size() / 2] ^= 0x40;  // one bit in the data section
  write_bytes(dir.path("bad.trw"), bytes);
  CliResult i = run_triage({"inspect", dir.path("bad.trw")});
  EXPECT_NE(i.status, 0);
  EXPECT_EQ(lines(i.err), 1u) << i.err;
  EXPECT_NE(i.err.find("invalid"), std::string::npos) << i.err;
  EXPECT_EQ(i.out, "");
  bytes.resize(100);
  write_bytes(dir.path("short.trw"), bytes);
  i = run_triage({"inspect", dir.path("short.trw")});
  EXPECT_NE(i.status, 0);
  EXPECT_EQ(lines(i.err), 1u) << i.err;
  i = run_triage({"inspect", dir.path("absent.trw")});
  EXPECT_NE(i.status, 0);
  EXPECT_EQ(lines(i.err), 1u) << i.err;
}

TEST(Cli, ConvertErrorsAreOneLine) {
  TempDir dir;
  const std::string ckpt = write_model(dir, tiny_cfvit(4));
  CliResult r = run_triage({"convert", ckpt, "-o", ckpt});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("refusing to overwrite input"), std::string::npos) << r.err;
  auto bytes = read_bytes(ckpt);
  bytes.resize(bytes.size() - 10);
  write_bytes(dir.path("cut.safetensors"), bytes);
  r = run_triage({"convert", dir.path("cut.safetensors"), "-o", dir.path("o.trw")});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("cut.safetensors"), std::string::npos) << r.err;
  r = run_triage({"convert", ckpt, "--dtype", "int4", "-o", dir.path("o.trw")});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  r = run_triage({"convert", ckpt});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  r = run_triage({"convert", ckpt, "-o", dir.path("o.trw"), "--bogus"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path("o.trw")));
}

TEST(Cli, HelpAndVersion) {
  TempDir dir;
  CliResult r = run_triage({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("convert"), std::string::npos);
  EXPECT_NE(r.out.find("inspect"), std::string::npos);
  r = run_triage({"--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("triage ", 0), 0u) << r.out;
  for (const char* cmd : {"convert", "inspect"}) {
    r = run_triage({cmd, "--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find(std::string("usage: triage ") + cmd), std::string::npos) << r.out;
  }
  r = run_triage({"frobnicate"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(lines(r.err), 1u);
  r = run_triage({});
  EXPECT_EQ(r.status, 2);
}

}  // namespace
}  // namespace triage::test
