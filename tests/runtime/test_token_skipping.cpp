// Token skipping (issue 16; docs/model-family.md "Token skipping"): the keys are checked at open, the
// token counts the engine reports and plans for follow the definition, and skipping changes what the
// passes compute (so the engine-vs-oracle cases with skipping cannot pass by both ignoring the keys).
// The values themselves are checked against the oracle in test_engine_vs_oracle.cpp, bits across
// threads and batches in test_determinism.cpp, no allocation in test_no_alloc.cpp.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "runtime/triage.h"
#include "tests/runtime/oracle_runner.h"
#include "tests/runtime/random_model.h"
#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

using Keys = std::vector<std::pair<std::string, int64_t>>;

// The default random model: Gc 16 coarse patches, K 4, depth 3, 2 ranking layers (so skip_layer 1).
RandomModelSpec spec(Keys keys, const char* dtype = "f32") {
  RandomModelSpec s;
  s.dtype = dtype;
  s.seed = 21;
  s.meta_i64 = std::move(keys);
  return s;
}

TEST(TokenSkipping, KeysAreCheckedAtOpen) {
  struct Bad {
    Keys keys;
    const char* says;
  };
  const std::vector<Bad> bad = {
      {{{"arch.keep_coarse", 6}}, "come together"},
      {{{"arch.skip_layer", 1}}, "come together"},
      {{{"arch.keep_coarse", 3}, {"arch.skip_layer", 1}}, "arch.keep_coarse"},   // below K = 4
      {{{"arch.keep_coarse", 16}, {"arch.skip_layer", 1}}, "arch.keep_coarse"},  // nothing left to fuse
      {{{"arch.keep_coarse", 6}, {"arch.skip_layer", 0}}, "arch.skip_layer"},    // no block before the skip
      {{{"arch.keep_coarse", 6}, {"arch.skip_layer", 2}}, "arch.skip_layer"},    // a ranking layer before it
      {{{"arch.keep_fine", -1}}, "arch.keep_fine"},
      {{{"arch.keep_fine", 12}}, "arch.keep_fine"},  // Gc - K unselected: nothing left to fuse
      {{{"arch.topk", 16}, {"arch.keep_fine", 0}}, "arch.keep_fine"},
      {{{"arch.topk", 16}, {"arch.keep_coarse", 15}, {"arch.skip_layer", 1}}, "arch.topk"},
  };
  for (const Bad& b : bad) {
    const std::vector<uint8_t> bytes = make_random_model(spec(b.keys));
    triage_options o = options();
    triage_model* m = nullptr;
    EXPECT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_E_FORMAT) << b.says;
    EXPECT_NE(std::string(triage_open_error()).find(b.says), std::string::npos) << triage_open_error();
    triage_close(m);
  }
  // A plain vit does not take them.
  RandomModelSpec v;
  v.arch = "vit";
  v.Sf = 32;
  v.meta_i64 = {{"arch.keep_fine", 1}};
  const std::vector<uint8_t> bytes = make_random_model(v);
  triage_options o = options();
  triage_model* m = nullptr;
  EXPECT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_E_FORMAT);
  EXPECT_NE(std::string(triage_open_error()).find("plain vit"), std::string::npos) << triage_open_error();
  triage_close(m);
}

// Reported tokens: the coarse pass's tokens per block averaged over its blocks (rounded), the fine
// pass's 1 + 4K + carried + fused.
TEST(TokenSkipping, TokenCounts) {
  struct Want {
    Keys keys;
    uint32_t coarse, fine, fine_all;
  };
  // Gc 16, K 4, L 3: without skipping 17 / 1 + 16 + 12 = 29 / 65.
  const std::vector<Want> wants = {
      {{}, 17, 29, 65},
      {{{"arch.keep_coarse", 7}, {"arch.skip_layer", 1}}, (17 + 2 * 9 + 1) / 3, 29, 65},
      {{{"arch.keep_fine", 3}}, 17, 1 + 16 + 3 + 1, 65},
      {{{"arch.keep_fine", 0}}, 17, 1 + 16 + 0 + 1, 65},
      {{{"arch.keep_coarse", 4}, {"arch.skip_layer", 1}, {"arch.keep_fine", 11}}, (17 + 2 * 6 + 1) / 3, 1 + 16 + 11 + 1, 65},
  };
  const TestImage img = make_random_image(5, 50, 60, 1, false);
  const triage_image v = view(img);
  for (const Want& w : wants) {
    const std::vector<uint8_t> bytes = make_random_model(spec(w.keys));
    for (uint32_t force : {TRIAGE_FORCE_COARSE, TRIAGE_FORCE_FINE, TRIAGE_FORCE_FINE_ALL}) {
      triage_options o = options(1, 1, force);
      triage_model* m = nullptr;
      ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_OK) << triage_open_error();
      triage_model_info info;
      info.struct_size = sizeof(info);
      ASSERT_EQ(triage_get_info(m, &info), TRIAGE_OK);
      EXPECT_EQ(info.tokens_coarse, w.coarse);
      triage_result r;
      ASSERT_EQ(triage_classify(m, &v, &r), TRIAGE_OK) << triage_last_error(m);
      const uint32_t fine = force == TRIAGE_FORCE_COARSE ? 0 : force == TRIAGE_FORCE_FINE ? w.fine : w.fine_all;
      EXPECT_EQ(r.tokens, w.coarse + fine) << "force " << force << ", " << w.keys.size() << " keys";
      if (force != TRIAGE_FORCE_COARSE) {
        EXPECT_EQ(info.tokens_fine, fine);
      }
      triage_close(m);
    }
  }
}

// The same weights with and without the keys: coarse skipping changes the coarse logits and (through
// the ranking and the reused features) the fine ones; fine skipping leaves the coarse logits alone and
// changes the fine ones; the fine pass over all tokens has nothing to fuse and is unchanged by
// keep_fine.
TEST(TokenSkipping, SkippingChangesWhatItShould) {
  const std::vector<uint8_t> base = make_random_model(spec({}));
  const std::vector<uint8_t> coarse = make_random_model(spec({{"arch.keep_coarse", 5}, {"arch.skip_layer", 1}}));
  const std::vector<uint8_t> fine = make_random_model(spec({{"arch.keep_fine", 2}}));
  OracleRunner ob(base), oc(coarse), of(fine);
  for (int i = 0; i < 4; ++i) {
    const TestImage img = make_random_image(40 + i, 48 + 5 * i, 64 - 3 * i, 1, false);
    const triage_image v = view(img);
    const rt::Oracle& o = ob.oracle();
    const int Sc = ob.config().Sc, Sf = ob.config().Sf, Gc = ob.config().Gc;
    const std::vector<float> ic = o.preprocess(v, Sc), iff = o.preprocess(v, Sf);
    const rt::Oracle::Coarse b = ob.oracle().coarse(ic), c = oc.oracle().coarse(ic), f = of.oracle().coarse(ic);
    int dropped = 0;
    for (int d : c.dropped) dropped += d;
    EXPECT_EQ(dropped, Gc - 5);
    EXPECT_GT(rel_error(c.logits, b.logits), 1e-6) << "coarse skipping left the coarse logits unchanged";
    EXPECT_EQ(f.logits, b.logits) << "keep_fine changed the coarse pass";
    EXPECT_GT(rel_error(oc.oracle().fine(iff, c, 4), ob.oracle().fine(iff, b, 4)), 1e-6);
    EXPECT_GT(rel_error(of.oracle().fine(iff, f, 4), ob.oracle().fine(iff, b, 4)), 1e-6);
    EXPECT_EQ(of.oracle().fine(iff, f, Gc), ob.oracle().fine(iff, b, Gc));
    // Rank order: every selected patch is a kept one, and no dropped patch ranks before a kept one.
    std::vector<int> sel, rest;
    rt::Oracle::select(c.scores, c.dropped, 4, sel, rest);
    for (int j : sel) EXPECT_EQ(c.dropped[static_cast<size_t>(j)], 0) << "selected a dropped patch " << j;
    for (size_t r = 0; r + 1 < rest.size(); ++r)
      EXPECT_LE(c.dropped[static_cast<size_t>(rest[r])], c.dropped[static_cast<size_t>(rest[r + 1])])
          << "a dropped patch ranks before a kept one";
  }
}

}  // namespace
}  // namespace triage::test
