// The converter's expected tensor table against the shapes written out from docs/model-family.md in
// the fixtures, for both architectures and the documented full-size configs' counts.
#include <gtest/gtest.h>

#include "tests/convert/fixtures.h"
#include "tools/convert/expected_tensors.h"

namespace triage::convert {
namespace {

ModelConfig parse(const nlohmann::json& j) {
  ModelConfig c;
  Error err;
  EXPECT_TRUE(parse_model_config(j.dump(), "config.json", c, err)) << err.message;
  return c;
}

TEST(ExpectedTensors, MatchTheDocumentedTables) {
  for (const test::TinyModel& m : {test::tiny_cfvit(1), test::tiny_vit(1)}) {
    auto got = expected_checkpoint_tensors(parse(m.config));
    ASSERT_EQ(got.size(), m.shapes.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].name, m.shapes[i].first);
      EXPECT_EQ(got[i].shape, m.shapes[i].second) << got[i].name;
    }
  }
}

TEST(ExpectedTensors, WaferModelCounts) {
  // awc-wm811k: depth 6 -> 12 per block, + 10 stem, 2 patch, 3 tokens, 4 norm/head, 6 reuse.
  nlohmann::json j = test::tiny_cfvit(1).config;
  j["arch"] = {{"name", "cfvit"}, {"in_chans", 1}, {"img_full", 64}, {"img_coarse", 32}, {"patch", 8},
               {"stem_channels", {16, 32}}, {"dim", 128}, {"heads", 4}, {"depth", 6}, {"mlp_ratio", 4},
               {"reuse_hidden", 128}, {"topk", 4}, {"rank_layers", 3}, {"ln_eps", 1e-6}, {"bn_eps", 1e-5}};
  auto got = expected_checkpoint_tensors(parse(j));
  EXPECT_EQ(got.size(), 10u + 2 + 3 + 12 * 6 + 4 + 6);
  for (const auto& e : got) {
    if (e.name == "pos_coarse") {
      EXPECT_EQ(e.shape, (std::vector<uint64_t>{1, 17, 128}));
    } else if (e.name == "pos_fine") {
      EXPECT_EQ(e.shape, (std::vector<uint64_t>{1, 65, 128}));
    } else if (e.name == "patch.weight") {
      EXPECT_EQ(e.shape, (std::vector<uint64_t>{128, 32, 2, 2}));
    }
  }
}

TEST(ExpectedTensors, NumBatchesTrackedIsIgnored) {
  EXPECT_TRUE(is_ignored_tensor("stem.0.bn.num_batches_tracked"));
  EXPECT_TRUE(is_ignored_tensor("num_batches_tracked"));
  EXPECT_FALSE(is_ignored_tensor("stem.0.bn.running_var"));
  EXPECT_FALSE(is_ignored_tensor("xnum_batches_tracked"));
}

}  // namespace
}  // namespace triage::convert
