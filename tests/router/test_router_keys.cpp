// router.json parsing (strict), the router.* keys written into a copy of a real model, and the
// converter's --router hook (applied only to the model the thresholds were calibrated on).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/router/cli_run.h"
#include "tools/convert/router_keys.h"
#include "weights_format/trw.h"

namespace triage::convert {
namespace {

RouterKeys sample_keys() {
  RouterKeys k;
  k.model_name = "awc-wm811k";
  k.source_sha256 = std::string(64, 'a');
  k.config_sha256 = std::string(64, 'b');
  k.dtype = "q8";
  k.coarse_good = 0.99960189;
  k.coarse_defect = 0.9;
  k.fine_good = 0.995;
  k.review = 0.6;
  k.provenance = R"({"data_sha256":"00","defective":3000,"escape_bound":0.0015})";
  return k;
}

TEST(RouterKeys, JsonRoundTrip) {
  const RouterKeys k = sample_keys();
  RouterKeys back;
  Error err;
  ASSERT_TRUE(parse_router_json(router_json(k), "router.json", back, err)) << err.message;
  EXPECT_EQ(back.model_name, k.model_name);
  EXPECT_EQ(back.source_sha256, k.source_sha256);
  EXPECT_EQ(back.config_sha256, k.config_sha256);
  EXPECT_EQ(back.dtype, k.dtype);
  EXPECT_EQ(back.calibrated, 1);
  EXPECT_EQ(back.coarse_good, k.coarse_good);  // doubles survive the text exactly
  EXPECT_EQ(back.fine_good, k.fine_good);
  EXPECT_EQ(nlohmann::json::parse(back.provenance), nlohmann::json::parse(k.provenance));
  EXPECT_TRUE(back.class_review.empty());  // optional: absent stays absent
  RouterKeys kc = k;
  kc.class_review = {0.25, 0.6, 0.875, 1.0};
  ASSERT_TRUE(parse_router_json(router_json(kc), "router.json", back, err)) << err.message;
  EXPECT_EQ(back.class_review, kc.class_review);
}

// router.class_review_thresholds: checked like the others; written when present, erased when not (a
// recalibration without per-class thresholds leaves no stale ones behind).
TEST(RouterKeys, ClassReviewThresholdsStrictAndErased) {
  RouterKeys k = sample_keys();
  k.class_review = {0.5, 0.7};
  std::string text = router_json(k);
  const size_t p = text.find("0.7");
  ASSERT_NE(p, std::string::npos);
  RouterKeys back;
  Error err;
  EXPECT_FALSE(parse_router_json(std::string(text).replace(p, 3, "2.7"), "router.json", back, err));
  EXPECT_NE(err.message.find("class_review_thresholds[1]"), std::string::npos) << err.message;
  trw::Writer w;
  set_router_keys(k, w);
  std::vector<uint8_t> bytes;
  trw::Error te;
  ASSERT_TRUE(w.serialize(bytes, te)) << te.message;
  trw::Buffer buf;
  trw::File f;
  ASSERT_TRUE(buf.assign(bytes, te) && f.parse(buf.span(), te)) << te.message;
  std::vector<double> v;
  ASSERT_TRUE(f.get_f64_array("router.class_review_thresholds", v, te)) << te.message;
  EXPECT_EQ(v, k.class_review);
  k.class_review.clear();
  set_router_keys(k, w);
  ASSERT_TRUE(w.serialize(bytes, te)) << te.message;
  trw::Buffer buf2;
  trw::File g;
  ASSERT_TRUE(buf2.assign(bytes, te) && g.parse(buf2.span(), te)) << te.message;
  EXPECT_EQ(g.find_meta("router.class_review_thresholds"), nullptr);
}

TEST(RouterKeys, JsonIsStrict) {
  const std::string good = router_json(sample_keys());
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return p == std::string::npos ? s : s.replace(p, from.size(), to);
  };
  const struct {
    std::string text, want;
  } cases[] = {
      {edit("\"fine_good_threshold\": 0.995", "\"fine_good_threshold\": 2.5"), "'fine_good_threshold' must be in [0, 2]"},
      {edit("\"fine_good_threshold\": 0.995", "\"fine_good_threshold\": \"0.995\""), "'fine_good_threshold' must be a number"},
      {edit("\"calibrated\": 1", "\"calibrated\": 2"), "'calibrated' must be 0 or 1"},
      {edit("\"review_threshold\": 0.6", "\"review_threshold\": 0.6, \"reveiw\": 1"), "unknown key 'reveiw'"},
      {edit("\"format_version\": 1", "\"format_version\": 2"), "not a triage-router file"},
      {edit("\"format_version\": 1", "\"format_version\": 1, \"format_version\": 1"), "duplicate"},
      {"[]", "not a JSON object"},
      {edit("\"provenance\": {", "\"provenance\": \"x\", \"unused\": {"), "unknown key 'unused'"},
      {edit("\"dtype\": \"q8\"", "\"dtype\": 8"), "'dtype' must be a string"},
  };
  for (const auto& c : cases) {
    RouterKeys k;
    Error err;
    EXPECT_FALSE(parse_router_json(c.text, "router.json", k, err)) << c.text;
    EXPECT_NE(err.message.find(c.want), std::string::npos) << "got: " << err.message << "\nwant: " << c.want;
    EXPECT_EQ(err.code, Errc::Config);
  }
}

// The shipped wafer model converted to q8 and parsed, with sample keys that identify it.
class RouterKeysOnWaferModel : public ::testing::Test {
 protected:
  void SetUp() override {
    src = test::converted_model("awc-wm811k", "q8");
    if (src.empty()) GTEST_SKIP() << "models/awc-wm811k not shipped yet";
    trw::Error terr;
    ASSERT_TRUE(buf.read_file(src, terr) && f.parse(buf.span(), terr)) << terr.message;
    k = sample_keys();
    identify_model(f, k);
  }
  std::string src;
  trw::Buffer buf;
  trw::File f;
  RouterKeys k;
};

TEST_F(RouterKeysOnWaferModel, CopiedModelKeepsEveryTensorAndMetadataAndTakesTheKeys) {
  trw::Error terr;
  std::string why;
  EXPECT_TRUE(router_matches(k, f, why)) << why;
  trw::Writer w;
  Error err;
  ASSERT_TRUE(copy_model(f, w, err)) << err.message;
  set_router_keys(k, w);
  test::TmpDir d;
  ASSERT_TRUE(w.write_file(d / "out.trw", terr, src)) << terr.message;
  EXPECT_FALSE(w.write_file(src, terr, src));  // never over the input
  trw::Buffer buf2;
  trw::File g;
  ASSERT_TRUE(buf2.read_file(d / "out.trw", terr) && g.parse(buf2.span(), terr)) << terr.message;
  ASSERT_EQ(g.tensors().size(), f.tensors().size());
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const trw::TensorView &a = f.tensors()[i], &b = g.tensors()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.dtype, b.dtype);
    ASSERT_EQ(a.nbytes, b.nbytes);
    EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << a.name;  // payload + q8 scales
  }
  ASSERT_EQ(g.metadata().size(), f.metadata().size());
  for (size_t i = 0; i < f.metadata().size(); ++i) {
    const std::string key(f.metadata()[i].key);
    EXPECT_EQ(g.metadata()[i].key, key);
    if (key.rfind("router.", 0) != 0) {
      EXPECT_EQ(g.metadata()[i].value.s, f.metadata()[i].value.s) << key;
    }
  }
  int64_t cal = 0;
  double cg = 0, fg = 0;
  std::string prov;
  ASSERT_TRUE(g.get_i64("router.calibrated", cal, terr) && g.get_f64("router.coarse_good_threshold", cg, terr) &&
              g.get_f64("router.fine_good_threshold", fg, terr) && g.get_str("router.provenance", prov, terr));
  EXPECT_EQ(cal, 1);
  EXPECT_EQ(cg, k.coarse_good);
  EXPECT_EQ(fg, k.fine_good);
  EXPECT_EQ(prov, k.provenance);
  // Another model (other checkpoint hash) does not match.
  RouterKeys other = k;
  other.source_sha256[0] = other.source_sha256[0] == 'f' ? 'e' : 'f';
  EXPECT_FALSE(router_matches(other, f, why));
  EXPECT_NE(why.find("source.sha256"), std::string::npos) << why;
}

TEST_F(RouterKeysOnWaferModel, ConvertWithRouterAppliesOnlyMatchingThresholds) {
  test::TmpDir d;
  test::write_text(d / "router.json", router_json(k));
  const std::string model_dir = test::source_dir() + "/models/awc-wm811k";
  auto coarse_good_of = [&](const std::string& path) {
    trw::Buffer b;
    trw::File g;
    trw::Error e;
    double v = -1;
    if (b.read_file(path, e) && g.parse(b.span(), e)) g.get_f64("router.coarse_good_threshold", v, e);
    return v;
  };
  test::CliResult r = test::run_triage({"convert", model_dir, "--dtype", "q8", "-o", d / "q8.trw", "--quiet", "--router", d / "router.json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(coarse_good_of(d / "q8.trw"), k.coarse_good);
  // Calibrated on q8: an f32 conversion stays uncalibrated, with a warning.
  r = test::run_triage({"convert", model_dir, "--dtype", "f32", "-o", d / "f32.trw", "--quiet", "--router", d / "router.json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: router file not applied (calibrated for converter.dtype 'q8'"), std::string::npos) << r.err;
  EXPECT_EQ(coarse_good_of(d / "f32.trw"), 2.0);
  // A malformed router file fails before anything is written; the router file is never the output.
  test::write_text(d / "bad.json", "{\"format\": \"triage-router\"");
  r = test::run_triage({"convert", model_dir, "-o", d / "bad.trw", "--router", d / "bad.json"});
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(std::filesystem::exists(d / "bad.trw"));
  r = test::run_triage({"convert", model_dir, "-o", d / "router.json", "--router", d / "router.json"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("refusing to overwrite the router file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace triage::convert
