// The audit log API: hashes against known digests and sha256sum, every field of a line, appending,
// the extra members rule, and refusals (unwritable path, not open).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <regex>

#include <nlohmann/json.hpp>

#include "tests/router/cli_run.h"
#include "tools/cli/audit_log.h"

namespace triage::test {
namespace {

using json = nlohmann::json;

// sha256sum's answer for a file: an implementation independent of tools/convert/sha256.cpp.
std::string sha256sum(const std::string& path) {
  std::string out;
  if (FILE* p = ::popen(("sha256sum '" + path + "'").c_str(), "r")) {
    char b[256];
    while (std::fgets(b, sizeof b, p)) out += b;
    ::pclose(p);
  }
  return out.substr(0, 64);
}

std::vector<json> lines(const std::string& path) {
  std::vector<json> out;
  const std::string text = read_text(path);
  size_t p = 0;
  while (p < text.size()) {
    const size_t e = text.find('\n', p);
    EXPECT_NE(e, std::string::npos) << "every line ends in a newline";
    if (e == std::string::npos) break;
    out.push_back(json::parse(text.substr(p, e - p)));  // throws (fails the test) on a bad line
    p = e + 1;
  }
  return out;
}

struct Model {
  triage_model* m = nullptr;
  ~Model() { triage_close(m); }
};

TEST(AuditLog, HashesAreRight) {
  TmpDir d;
  write_text(d / "abc.bin", "abc");
  std::string hex, err;
  ASSERT_TRUE(cli::sha256_file(d / "abc.bin", hex, err)) << err;
  EXPECT_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2 example
  std::mt19937 rng(9);
  std::string random(3 * 1024 * 1024 + 17, '\0');  // over the 1 MiB read chunk
  for (char& c : random) c = static_cast<char>(rng());
  write_text(d / "random.bin", random);
  ASSERT_TRUE(cli::sha256_file(d / "random.bin", hex, err)) << err;
  EXPECT_EQ(hex, sha256sum(d / "random.bin"));
  EXPECT_FALSE(cli::sha256_file(d / "missing.bin", hex, err));
  EXPECT_NE(err.find("missing.bin: cannot open"), std::string::npos) << err;
}

TEST(AuditLog, TimeIsUtcIso8601WithMilliseconds) {
  EXPECT_TRUE(std::regex_match(cli::utc_now_iso8601(), std::regex(R"(20\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\d\.\d{3}Z)")))
      << cli::utc_now_iso8601();
}

TEST(AuditLog, LinesCarryEveryFieldAndAppend) {
  const std::string path = converted_model("awc-wm811k", "q8");
  if (path.empty()) GTEST_SKIP() << "models/awc-wm811k not shipped";
  Model m;
  ASSERT_EQ(triage_open_file(path.c_str(), nullptr, &m.m), TRIAGE_OK);
  triage_model_info info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(triage_get_info(m.m, &info), TRIAGE_OK);
  TmpDir d;
  write_text(d / "in1.npy", "pretend image 1");
  write_text(d / "in2.npy", "pretend image 2");
  const std::string log = d / "audit.jsonl";
  for (int session = 0; session < 2; ++session) {  // two opens: the second appends
    cli::AuditLog a;
    std::string err;
    EXPECT_FALSE(a.is_open());
    ASSERT_TRUE(a.open(log, path, m.m, err)) << err;
    EXPECT_TRUE(a.is_open());
    ASSERT_TRUE(a.write({d / "in1.npy", "Center", 0.875f, "coarse", false, ""}, err)) << err;
    ASSERT_TRUE(a.write({d / "in2.npy", "none", 0.5f, "fine", true, "\"defect_id\": 12,\n \"tags\": [1, 2]"}, err)) << err;
    EXPECT_EQ(lines(log).size(), size_t(2 * (session + 1)));  // flushed line by line, before closing
  }
  const std::vector<json> l = lines(log);
  ASSERT_EQ(l.size(), 4u);
  const std::string model_sha = sha256sum(path), in2_sha = sha256sum(d / "in2.npy");
  for (const json& j : l) {
    for (const char* k : {"time", "input", "input_sha256", "model", "model_path", "model_sha256", "thresholds", "class",
                          "confidence", "route", "review"})
      EXPECT_TRUE(j.contains(k)) << k << " in " << j.dump();
    EXPECT_EQ(j["model"], info.model_name);
    EXPECT_EQ(j["model_path"], path);
    EXPECT_EQ(j["model_sha256"], model_sha);
    EXPECT_EQ(j["thresholds"]["coarse_good"].get<double>(), info.coarse_good_threshold);
    EXPECT_EQ(j["thresholds"]["coarse_defect"].get<double>(), info.coarse_defect_threshold);
    EXPECT_EQ(j["thresholds"]["fine_good"].get<double>(), info.fine_good_threshold);
    EXPECT_EQ(j["thresholds"]["review"].get<double>(), info.review_threshold);
    EXPECT_EQ(j["thresholds"]["calibrated"], info.router_calibrated != 0);
  }
  EXPECT_EQ(l[0]["input"], d / "in1.npy");
  EXPECT_EQ(l[0]["class"], "Center");
  EXPECT_EQ(l[0]["confidence"].get<double>(), 0.875);
  EXPECT_EQ(l[0]["route"], "coarse");
  EXPECT_EQ(l[0]["review"], false);
  EXPECT_FALSE(l[0].contains("defect_id"));
  EXPECT_EQ(l[1]["input_sha256"], in2_sha);
  EXPECT_EQ(l[1]["review"], true);
  EXPECT_EQ(l[1]["defect_id"], 12);  // the extra members, re-written on the one line
  EXPECT_EQ(l[1]["tags"], json::array({1, 2}));
  EXPECT_NE(l[0]["input_sha256"], l[1]["input_sha256"]);
}

TEST(AuditLog, Refusals) {
  const std::string path = converted_model("awc-wm811k", "q8");
  if (path.empty()) GTEST_SKIP() << "models/awc-wm811k not shipped";
  Model m;
  ASSERT_EQ(triage_open_file(path.c_str(), nullptr, &m.m), TRIAGE_OK);
  TmpDir d;
  std::string err;
  cli::AuditLog a;
  EXPECT_FALSE(a.write({d / "x", "none", 1, "coarse", false, ""}, err));
  EXPECT_EQ(err, "audit log is not open");
  EXPECT_FALSE(a.open(d / "no/such/dir/audit.jsonl", path, m.m, err));
  EXPECT_NE(err.find("cannot open the audit log"), std::string::npos) << err;
  EXPECT_NE(err.find("No such file or directory"), std::string::npos) << err;
  EXPECT_FALSE(a.open(d.path, path, m.m, err));  // a folder
  EXPECT_NE(err.find("Is a directory"), std::string::npos) << err;
  EXPECT_FALSE(a.open(d / "a.jsonl", d / "missing.trw", m.m, err));
  EXPECT_NE(err.find("audit log: model"), std::string::npos) << err;
  EXPECT_FALSE(a.is_open());

  ASSERT_TRUE(a.open(d / "a.jsonl", path, m.m, err)) << err;
  write_text(d / "in.npy", "x");
  EXPECT_FALSE(a.write({d / "in.npy", "none", 1, "coarse", false, "\"a\": "}, err));
  EXPECT_EQ(err, "audit log: extra members are not valid JSON members");
  EXPECT_FALSE(a.write({d / "in.npy", "none", 1, "coarse", false, "\"class\": \"x\""}, err));
  EXPECT_NE(err.find("'class' would repeat a standard field"), std::string::npos) << err;
  EXPECT_FALSE(a.write({d / "gone.npy", "none", 1, "coarse", false, ""}, err));
  EXPECT_NE(err.find("audit log: input"), std::string::npos) << err;
  EXPECT_EQ(read_text(d / "a.jsonl"), "");  // nothing half-written
}

}  // namespace
}  // namespace triage::test
