// The ADC report: a hand-counted example, invariants on random labels, and the SVG.
#include <gtest/gtest.h>

#include <random>

#include "tools/cli/adc_report.h"

namespace triage::test {
namespace {

TEST(AdcReport, HandCountedExample) {
  const std::vector<std::string> names = {"A", "B", "good"};
  const std::vector<int> manual = {0, 0, 0, 1, 1, 2, 2, 2}, decided = {0, 0, 1, 1, 0, 2, 2, 0};
  const std::vector<uint8_t> review = {0, 1, 0, 0, 0, 0, 1, 0};
  const cli::AdcReport r = cli::adc_report("manual_class", names, manual, decided, review);
  ASSERT_EQ(r.classes.size(), 3u);
  const cli::AdcClass &a = r.classes[0], &b = r.classes[1], &g = r.classes[2];
  EXPECT_EQ(a.manual, 3u);
  EXPECT_EQ(a.automatic, 4u);
  EXPECT_EQ(a.correct, 2u);
  EXPECT_EQ(a.rejected, 1u);
  EXPECT_DOUBLE_EQ(a.accuracy, 2.0 / 3);
  EXPECT_DOUBLE_EQ(a.purity, 2.0 / 4);
  EXPECT_DOUBLE_EQ(a.rejection, 1.0 / 3);
  EXPECT_DOUBLE_EQ(a.contribution, 3.0 / 8);
  EXPECT_DOUBLE_EQ(b.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(b.purity, 0.5);
  EXPECT_DOUBLE_EQ(b.rejection, 0);
  EXPECT_DOUBLE_EQ(b.contribution, 2.0 / 8);
  EXPECT_DOUBLE_EQ(g.accuracy, 2.0 / 3);
  EXPECT_DOUBLE_EQ(g.purity, 1);
  EXPECT_DOUBLE_EQ(g.rejection, 1.0 / 3);
  EXPECT_EQ(r.total, 8u);
  EXPECT_EQ(r.correct, 5u);
  EXPECT_DOUBLE_EQ(r.accuracy, 5.0 / 8);
  EXPECT_EQ(r.rejected, 2u);
  EXPECT_DOUBLE_EQ(r.rejection, 2.0 / 8);
  EXPECT_EQ(r.accepted, 6u);
  EXPECT_DOUBLE_EQ(r.accepted_accuracy, 3.0 / 6);
  EXPECT_DOUBLE_EQ(r.mean_accuracy, (2.0 / 3 + 0.5 + 2.0 / 3) / 3);
  EXPECT_DOUBLE_EQ(r.mean_purity, (0.5 + 0.5 + 1.0) / 3);

  const auto j = cli::adc_report_json(r);
  EXPECT_EQ(j["manual_column"], "manual_class");
  EXPECT_EQ(j["defects"], 8);
  EXPECT_EQ(j["classes"]["A"]["auto"], 4);
  EXPECT_DOUBLE_EQ(j["classes"]["A"]["purity"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["classes"]["good"]["rejection_rate"].get<double>(), 1.0 / 3);
  const std::string text = cli::adc_report_text(r);
  EXPECT_NE(text.find("accuracy 62.50%"), std::string::npos) << text;
  EXPECT_NE(text.find("  A                        3       4        2    66.67%    50.00%    33.33%       37.50%"), std::string::npos)
      << text;
}

TEST(AdcReport, InvariantsOnRandomLabels) {
  std::mt19937 rng(77);
  for (int round = 0; round < 20; ++round) {
    const int k = 2 + static_cast<int>(rng() % 8);
    std::vector<std::string> names;
    for (int c = 0; c < k; ++c) names.push_back(std::string("c").append(std::to_string(c)));
    const size_t n = 1 + rng() % 500;
    std::vector<int> manual(n), decided(n);
    std::vector<uint8_t> review(n);
    for (size_t i = 0; i < n; ++i) {
      manual[i] = static_cast<int>(rng() % k);
      decided[i] = rng() % 3 ? manual[i] : static_cast<int>(rng() % k);
      review[i] = rng() % 5 == 0;
    }
    const cli::AdcReport r = cli::adc_report("m", names, manual, decided, review);
    uint64_t sm = 0, sa = 0, sc = 0, sr = 0;
    double contrib = 0;
    for (const auto& c : r.classes) {
      sm += c.manual, sa += c.automatic, sc += c.correct, sr += c.rejected, contrib += c.contribution;
      EXPECT_LE(c.correct, std::min(c.manual, c.automatic));
      if (c.manual) {
        EXPECT_DOUBLE_EQ(c.accuracy, double(c.correct) / double(c.manual));
      }
      if (c.automatic) {
        EXPECT_DOUBLE_EQ(c.purity, double(c.correct) / double(c.automatic));
      }
    }
    EXPECT_EQ(sm, n);
    EXPECT_EQ(sa, n);
    EXPECT_EQ(sc, r.correct);
    EXPECT_EQ(sr, r.rejected);
    EXPECT_NEAR(contrib, 1.0, 1e-12);
    EXPECT_EQ(r.accepted + r.rejected, n);
  }
  // Indexes outside the class list (no class) are not counted.
  const cli::AdcReport r = cli::adc_report("m", {"a"}, {0, 3, -1}, {0, 0, 0}, {0, 0, 0});
  EXPECT_EQ(r.total, 1u);
}

TEST(AdcReport, SvgHasEveryClassAndValue) {
  const cli::AdcReport r = cli::adc_report("m", {"Scratch", "a<b&c"}, {0, 0, 1, 1}, {0, 1, 1, 1}, {0, 0, 1, 0});
  const std::string svg = cli::adc_report_svg(r, "ADC <report>");
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("ADC &lt;report&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a&lt;b&amp;c"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
  EXPECT_NE(svg.find(">50.0%<"), std::string::npos);   // accuracy of Scratch, purity of a<b&c
  EXPECT_NE(svg.find(">100.0%<"), std::string::npos);  // accuracy of a<b&c
  for (const char* s : {"accuracy", "purity", "rejection", "contribution"}) EXPECT_NE(svg.find(s), std::string::npos) << s;
}

}  // namespace
}  // namespace triage::test
