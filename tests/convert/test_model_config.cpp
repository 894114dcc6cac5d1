// config.json parsing: the documented examples parse into the right values; each invalid value is
// refused with a message naming the key.
#include <gtest/gtest.h>

#include "tests/convert/fixtures.h"
#include "tools/convert/model_config.h"

namespace triage::convert {
namespace {

using json = nlohmann::json;

// Parses; returns the error message ("" on success).
std::string config_error(const json& j, ModelConfig* out = nullptr) {
  ModelConfig cfg;
  Error err;
  bool ok = parse_model_config(j.dump(), "config.json", cfg, err);
  if (out) *out = cfg;
  return ok ? "" : err.message;
}

TEST(ModelConfig, DocumentedAdcSemExampleParses) {
  const char* text = R"({
    "format": "triage-checkpoint-config", "format_version": 1, "model_name": "adc-sem",
    "arch": {"name": "cfvit", "in_chans": 1, "img_full": 224, "img_coarse": 112, "patch": 16,
             "stem_channels": [24, 48], "dim": 192, "heads": 3, "depth": 8, "mlp_ratio": 4,
             "reuse_hidden": 192, "topk": 12, "rank_layers": 4, "ln_eps": 1e-6, "bn_eps": 1e-5},
    "labels": ["good", "particle", "bridge", "open", "scratch", "residue", "missing_contact"],
    "good_label": "good",
    "input": {"channels": 1, "max_value_u8": 255, "max_value_u16": 65535, "mean": 0.5, "std": 0.25}})";
  ModelConfig c;
  Error err;
  ASSERT_TRUE(parse_model_config(text, "config.json", c, err)) << err.message;
  EXPECT_EQ(c.model_name, "adc-sem");
  EXPECT_EQ(c.arch.arch, Arch::CfVit);
  EXPECT_EQ(c.arch.img_full, 224);
  EXPECT_EQ(c.arch.img_coarse, 112);
  EXPECT_EQ(c.arch.patch, 16);
  EXPECT_EQ(c.arch.stem_channels, (std::vector<int64_t>{24, 48}));
  EXPECT_EQ(c.arch.dim, 192);
  EXPECT_EQ(c.arch.heads, 3);
  EXPECT_EQ(c.arch.depth, 8);
  EXPECT_EQ(c.arch.mlp_hidden(), 768);
  EXPECT_EQ(c.arch.reuse_hidden, 192);
  EXPECT_EQ(c.arch.topk, 12);
  EXPECT_EQ(c.arch.rank_layers, 4);
  EXPECT_DOUBLE_EQ(c.arch.ln_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.arch.bn_eps, 1e-5);
  EXPECT_EQ(c.arch.stem_patch(), 4);
  EXPECT_EQ(c.arch.grid_coarse(), 49);
  EXPECT_EQ(c.arch.grid_full(), 196);
  EXPECT_EQ(c.labels.size(), 7u);
  EXPECT_EQ(c.good_label, "good");
  EXPECT_EQ(c.input.channels, 1);
  EXPECT_EQ(c.input.max_value_u8, 255);
  EXPECT_EQ(c.input.max_value_u16, 65535);
  EXPECT_DOUBLE_EQ(c.input.mean, 0.5);
  EXPECT_DOUBLE_EQ(c.input.std, 0.25);
}

TEST(ModelConfig, TimmVitParsesWithFloatMlpRatio) {
  ModelConfig c;
  ASSERT_EQ(config_error(test::tiny_vit(1).config, &c), "");
  EXPECT_EQ(c.arch.arch, Arch::Vit);
  EXPECT_EQ(c.arch.mlp_ratio, 4);
  EXPECT_EQ(c.arch.grid_full(), 16);
  EXPECT_TRUE(c.arch.stem_channels.empty());
}

struct BadCase {
  const char* pointer;  // JSON pointer of the value to change
  json value;
  const char* expect;  // substring of the message
};

TEST(ModelConfig, InvalidValuesAreRefusedWithTheKey) {
  const BadCase cases[] = {
      {"/arch/heads", 3, "arch.heads: 3 does not divide dim 32"},
      {"/arch/img_coarse", 8, "arch.img_coarse: must be img_full / 2"},
      {"/arch/patch", 6, "arch.patch"},   // not a multiple of 4 / not dividing
      {"/arch/patch", 2, "arch.patch: must be a multiple of 4"},
      {"/arch/dim", 0, "arch.dim: must be an integer in 1..4096"},
      {"/arch/dim", 1 << 20, "arch.dim: must be an integer in 1..4096"},
      {"/arch/dim", "32", "arch.dim: must be an integer"},
      {"/arch/mlp_ratio", 4.5, "arch.mlp_ratio: must be an integer"},
      {"/arch/topk", 5, "arch.topk: must be an integer in 0..4"},
      {"/arch/rank_layers", 3, "arch.rank_layers: must be an integer in 1..2"},
      {"/arch/ln_eps", 0.0, "arch.ln_eps: must be a finite number"},
      {"/arch/bn_eps", -1.0, "arch.bn_eps"},
      {"/arch/name", "resnet", "arch.name: must be \"cfvit\" or \"vit\""},
      {"/arch/stem_channels", json::array({4}), "arch.stem_channels: must be an array [c1, c2]"},
      {"/arch/stem_channels", json::array({4, 0}), "arch.stem_channels.c2"},
      {"/arch/extra", 1, "arch: unknown keys 'extra'"},
      {"/good_label", "none", "good_label: 'none' is not in labels"},
      {"/labels", json::array({"good", "good"}), "labels[1]: duplicate label 'good'"},
      {"/labels", json::array(), "labels: must be an array"},
      {"/format", "other", "format: must be \"triage-checkpoint-config\""},
      {"/format_version", 2, "format_version: must be an integer in 1..1"},
      {"/input/channels", 3, "input.channels: 3 differs from arch.in_chans 1"},
      {"/input/std", 0.0, "input.std"},
      {"/input/max_value_u8", 256, "input.max_value_u8: must be an integer in 1..255"},
      {"/input/max_value", 2, "input: unknown keys 'max_value'"},
      {"/model_name", "", "model_name: must be 1..256 bytes"},
      // Token skipping (tiny cfvit: Gc 4, K 2, depth 2, rank_layers 1).
      {"/arch/keep_coarse", 3, "token skipping needs keep_coarse and skip_layer together"},
      {"/arch/skip_layer", 1, "token skipping needs keep_coarse and skip_layer together"},
      {"/arch/keep_fine", 2, "arch.keep_fine: must be an integer in 0..1"},
      {"/arch/keep_fine", -1, "arch.keep_fine: must be an integer in 0..1"},
  };
  for (const auto& c : cases) {
    json j = test::tiny_cfvit(1).config;
    j[json::json_pointer(c.pointer)] = c.value;
    std::string msg = config_error(j);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.pointer << " = " << c.value.dump() << ": " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(ModelConfig, TokenSkippingRanges) {
  struct Case {
    int kc, s;
    const char* expect;  // "" = accepted
  } cases[] = {{2, 1, ""}, {3, 1, ""}, {1, 1, "arch.keep_coarse: must be an integer in 2..3"},
               {4, 1, "arch.keep_coarse: must be an integer in 2..3"}, {3, 0, "arch.skip_layer: must be an integer in 1..1"},
               {3, 2, "arch.skip_layer: must be an integer in 1..1"}};
  for (const Case& c : cases) {
    json j = test::tiny_cfvit(1).config;
    j["arch"]["keep_coarse"] = c.kc;
    j["arch"]["skip_layer"] = c.s;
    ModelConfig out;
    const std::string msg = config_error(j, &out);
    if (*c.expect == 0) {
      EXPECT_EQ(msg, "") << c.kc << " " << c.s;
      EXPECT_EQ(out.arch.keep_coarse, c.kc);
      EXPECT_EQ(out.arch.skip_layer, c.s);
      EXPECT_EQ(out.arch.keep_fine, -1);
    } else {
      EXPECT_NE(msg.find(c.expect), std::string::npos) << c.kc << " " << c.s << ": " << msg;
    }
  }
}

// good_label null: a model without a good class (stored as ""); "" itself is not a way to say it.
TEST(ModelConfig, NullGoodLabelMeansNoGoodClass) {
  json j = test::tiny_cfvit(1).config;
  j["good_label"] = nullptr;
  ModelConfig c;
  ASSERT_EQ(config_error(j, &c), "");
  EXPECT_EQ(c.good_label, "");
  j["good_label"] = "";
  EXPECT_NE(config_error(j).find("good_label"), std::string::npos);
  j["good_label"] = 3;
  EXPECT_NE(config_error(j).find("good_label: must be a string"), std::string::npos);
}

TEST(ModelConfig, MissingKeysAreNamed) {
  for (const char* key : {"/arch/dim", "/arch/bn_eps", "/labels", "/input", "/good_label", "/input/mean"}) {
    json j = test::tiny_cfvit(1).config;
    json::json_pointer p(key);
    j[p.parent_pointer()].erase(p.back());
    std::string msg = config_error(j);
    EXPECT_NE(msg.find("missing"), std::string::npos) << key << ": " << msg;
  }
}

TEST(ModelConfig, VitRejectsCfvitKeys) {
  json j = test::tiny_vit(1).config;
  j["arch"]["topk"] = 2;
  j["arch"]["img_coarse"] = 16;
  std::string msg = config_error(j);
  EXPECT_NE(msg.find("unknown keys 'img_coarse', 'topk'"), std::string::npos) << msg;
}

TEST(ModelConfig, DuplicateKeysAndBadJsonRefused) {
  ModelConfig c;
  Error err;
  std::string text = test::tiny_cfvit(1).config.dump();
  text.insert(1, "\"model_name\":\"x\",");
  EXPECT_FALSE(parse_model_config(text, "config.json", c, err));
  EXPECT_NE(err.message.find("duplicate key 'model_name'"), std::string::npos) << err.message;
  EXPECT_FALSE(parse_model_config("{\"format\": ", "config.json", c, err));
  EXPECT_EQ(err.code, Errc::Format);
  EXPECT_FALSE(parse_model_config("[]", "config.json", c, err));
  EXPECT_EQ(err.code, Errc::Config);
}

}  // namespace
}  // namespace triage::convert
