// The oracle against the PyTorch goldens of each shipped model (models/<name>/goldens.safetensors):
// preprocessing, stem output, block 0, coarse logits, ranking scores, selected patches, fine logits
// (K = arch.topk) and fine logits over all tokens, each within 1e-4 norm-wise relative error; and the same
// with token skipping (the goldens' skip_* set).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/oracle_forward.h"
#include "tests/runtime/oracle_runner.h"
#include "tests/runtime/shipped_model.h"

namespace triage::test {
namespace {

constexpr double kTol = 1e-4;

// Row b of a golden tensor [B, ...] as floats.
std::vector<float> row(const StTensor& t, int64_t b) {
  const size_t per = t.f.size() / static_cast<size_t>(t.shape[0]);
  return {t.f.begin() + b * per, t.f.begin() + (b + 1) * per};
}

// Each test: the shipped model's f32 file and its goldens.
class OracleGoldens : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    sm = shipped(GetParam());
    if (!sm.present()) GTEST_SKIP() << "models/" << sm.name << " does not exist yet (training has not shipped it)";
    bytes = sm.read_trw("f32");
    ASSERT_FALSE(bytes.empty()) << "missing " << sm.trw("f32") << " (the runtime_convert fixture makes it)";
    std::string err;
    ASSERT_TRUE(g.read(sm.dir + "/goldens.safetensors", err)) << err;
  }
  ShippedModel sm;
  std::vector<uint8_t> bytes;
  Safetensors g;
};

TEST_P(OracleGoldens, MatchesPyTorch) {
  OracleRunner run(bytes);
  const rt::Oracle& o = run.oracle();
  const rt::ModelConfig& c = run.config();
  ASSERT_EQ(c.arch, rt::Arch::CfVit);
  const std::vector<std::string> paths = sm.golden_paths(g);
  ASSERT_FALSE(paths.empty()) << "goldens metadata lists no paths";
  const int K = g.metadata.count("K") ? std::stoi(g.metadata.at("K")) : c.K;
  ASSERT_EQ(K, c.K);
  for (const char* t : {"input_full", "input_coarse", "coarse_embed", "coarse_block0", "coarse_logits", "rank_scores",
                        "selected", "fine_logits", "fine_all_logits"})
    ASSERT_TRUE(g.tensors.count(t)) << "goldens miss " << t;
  ASSERT_EQ(g.tensors.at("coarse_logits").shape[0], static_cast<int64_t>(paths.size()));

  double worst[9] = {};
  const char* names[9] = {"input_full", "input_coarse", "coarse_embed", "coarse_block0", "coarse_logits",
                          "rank_scores", "fine_logits", "fine_all_logits", "fine_from_golden_inputs"};
  for (size_t b = 0; b < paths.size(); ++b) {
    cli::Image img;
    std::string err;
    ASSERT_TRUE(cli::read_image(paths[b], img, err)) << paths[b] << ": " << err;
    const triage_image v = img.view();
    const std::vector<float> full = o.preprocess(v, c.Sf), coarse = o.preprocess(v, c.Sc);
    const rt::Oracle::Coarse co = o.coarse(coarse);
    std::vector<int> sel, keep;
    rt::Oracle::select(co.scores, co.dropped, K, sel, keep);
    const std::vector<float> fine = o.fine(full, co, K), fine_all = o.fine(full, co, c.Gc);
    // From the golden inputs too, so a preprocessing difference cannot hide behind the rest.
    const std::vector<float> fine_g = o.fine(row(g.tensors.at("input_full"), b), o.coarse(row(g.tensors.at("input_coarse"), b)), K);
    const std::vector<float>* got[9] = {&full, &coarse, &co.embed, &co.block0, &co.logits, &co.scores, &fine, &fine_all, &fine_g};
    const char* golden[9] = {"input_full", "input_coarse", "coarse_embed", "coarse_block0", "coarse_logits",
                             "rank_scores", "fine_logits", "fine_all_logits", "fine_logits"};
    for (int k = 0; k < 9; ++k) {
      const double e = rel_error(*got[k], row(g.tensors.at(golden[k]), b));
      worst[k] = std::max(worst[k], e);
      EXPECT_LT(e, kTol) << names[k] << " of sample " << b << " (" << paths[b] << ")";
    }
    const StTensor& s = g.tensors.at("selected");
    const size_t per = s.i.size() / static_cast<size_t>(s.shape[0]);
    const std::vector<int64_t> want(s.i.begin() + b * per, s.i.begin() + (b + 1) * per);
    EXPECT_EQ(std::vector<int64_t>(sel.begin(), sel.end()), want) << "selected patches of sample " << b;
  }
  for (int k = 0; k < 9; ++k) std::printf("[ %s ] %-24s worst rel error %.3g\n", sm.name.c_str(), names[k], worst[k]);
}

// The same with token skipping (the keys in the goldens' "skip" metadata): coarse logits, ranking
// scores, dropped patches, selected patches, fine logits (K and all tokens), same tolerance.
TEST_P(OracleGoldens, MatchesPyTorchWithTokenSkipping) {
  ASSERT_TRUE(g.metadata.count("skip")) << "goldens have no skip set (tools/train/export_goldens.py writes it)";
  const nlohmann::json skip = nlohmann::json::parse(g.metadata.at("skip"));
  OracleRunner run(bytes);
  rt::ModelConfig c;
  const rt::Oracle o = run.with_skipping(skip.value("keep_coarse", 0), skip.value("skip_layer", 0), skip.value("keep_fine", -1), &c);
  const std::vector<std::string> paths = sm.golden_paths(g);
  const char* names[5] = {"skip_coarse_logits", "skip_rank_scores", "skip_fine_logits", "skip_fine_all_logits", "skip_dropped"};
  for (const char* t : names) ASSERT_TRUE(g.tensors.count(t)) << "goldens miss " << t;
  double worst[4] = {};
  for (size_t b = 0; b < paths.size(); ++b) {
    const rt::Oracle::Coarse co = o.coarse(row(g.tensors.at("input_coarse"), b));
    const std::vector<float> full = row(g.tensors.at("input_full"), b);
    const std::vector<float> fine = o.fine(full, co, c.K), fine_all = o.fine(full, co, c.Gc);
    const std::vector<float>* got[4] = {&co.logits, &co.scores, &fine, &fine_all};
    for (int k = 0; k < 4; ++k) {
      const double e = rel_error(*got[k], row(g.tensors.at(names[k]), b));
      worst[k] = std::max(worst[k], e);
      EXPECT_LT(e, kTol) << names[k] << " of sample " << b;
    }
    auto ints = [&](const char* t) {
      const StTensor& s = g.tensors.at(t);
      const size_t per = s.i.size() / static_cast<size_t>(s.shape[0]);
      return std::vector<int64_t>(s.i.begin() + b * per, s.i.begin() + (b + 1) * per);
    };
    EXPECT_EQ(std::vector<int64_t>(co.dropped.begin(), co.dropped.end()), ints("skip_dropped")) << "sample " << b;
    std::vector<int> sel, rest;
    rt::Oracle::select(co.scores, co.dropped, c.K, sel, rest);
    EXPECT_EQ(std::vector<int64_t>(sel.begin(), sel.end()), ints("skip_selected")) << "sample " << b;
  }
  for (int k = 0; k < 4; ++k)
    std::printf("[ %s %s ] %-22s worst rel error %.3g\n", sm.name.c_str(), g.metadata.at("skip").c_str(), names[k], worst[k]);
}

INSTANTIATE_TEST_SUITE_P(Shipped, OracleGoldens, ::testing::ValuesIn(shipped_models()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace triage::test
