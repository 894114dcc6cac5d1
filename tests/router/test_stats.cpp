// Binomial tails and Clopper-Pearson bounds against values computed independently (exact binomial sums
// in Python, bisected to 1e-15) and against their defining identities.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tools/cli/stats.h"

namespace triage::cli {
namespace {

TEST(Stats, ClopperPearsonKnownValues) {
  struct Case {
    uint64_t k, n;
    double c, want;
  } cases[] = {{0, 3000, 0.95, 0.000998079011996611}, {2, 100, 0.95, 0.06161920039604068},
               {1, 3000, 0.95, 0.0015803018274587743}, {5, 1000, 0.90, 0.009254858093067085},
               {10, 50, 0.99, 0.36278757121723887},     {0, 1, 0.95, 0.95},
               {3, 4000, 0.95, 0.0019372625831401422}, {20, 200, 0.95, 0.14198925159094503}};
  for (const Case& c : cases) EXPECT_NEAR(clopper_pearson_upper(c.k, c.n, c.c), c.want, 1e-9 * c.want) << c.k << "/" << c.n;
}

TEST(Stats, ClopperPearsonEdges) {
  EXPECT_EQ(clopper_pearson_upper(0, 0, 0.95), 1.0);
  EXPECT_EQ(clopper_pearson_upper(7, 7, 0.95), 1.0);
  // "3/n": 0 events in 3000 trials at 95% is just under 1e-3 (ANCHORS.md).
  EXPECT_LT(clopper_pearson_upper(0, 3000, 0.95), 1e-3);
  EXPECT_GT(clopper_pearson_upper(0, 2990, 0.95), 1e-3);
  // More events or more confidence never lowers the bound.
  for (uint64_t k = 0; k < 20; ++k) {
    EXPECT_LT(clopper_pearson_upper(k, 500, 0.95), clopper_pearson_upper(k + 1, 500, 0.95));
    EXPECT_LT(clopper_pearson_upper(k, 500, 0.90), clopper_pearson_upper(k, 500, 0.95));
  }
}

TEST(Stats, BinomialCdfKnownValuesAndSymmetry) {
  EXPECT_NEAR(binomial_cdf(2, 100, 0.05), 0.1182629811851204, 1e-12);
  EXPECT_NEAR(binomial_cdf(0, 10, 0.3), 0.0282475249, 1e-12);
  EXPECT_EQ(binomial_cdf(10, 10, 0.3), 1.0);
  EXPECT_EQ(binomial_cdf(3, 10, 0.0), 1.0);
  EXPECT_EQ(binomial_cdf(3, 10, 1.0), 0.0);
  // P(X <= k | p) + P(X <= n-k-1 | 1-p) = 1, also for large n (lower and upper tail code paths).
  const uint64_t n = 100000;
  for (uint64_t k : {49000ull, 50123ull, 50900ull})
    EXPECT_NEAR(binomial_cdf(k, n, 0.5) + binomial_cdf(n - k - 1, n, 0.5), 1.0, 1e-9) << k;
  EXPECT_NEAR(binomial_cdf(30, 1000, 0.02) + binomial_cdf(969, 1000, 0.98), 1.0, 1e-12);
}

TEST(Stats, PValueRejectsExactlyWhenTheBoundIsBelowTheTarget) {
  std::mt19937_64 rng(7);
  int checked = 0;
  for (int t = 0; t < 2000; ++t) {
    const uint64_t n = 1 + rng() % 5000, k = rng() % (1 + n / 50);
    const double e = std::exp(-1.0 - 6.0 * static_cast<double>(rng() % 1000) / 1000.0), alpha = 0.01 + 0.1 * (rng() % 10) / 10.0;
    const double u = clopper_pearson_upper(k, n, 1 - alpha);
    if (std::fabs(u - e) < 1e-9 * e) continue;  // too close to call in floating point
    EXPECT_EQ(binomial_p_value(k, n, e) <= alpha, u <= e) << k << "/" << n << " e " << e << " a " << alpha;
    ++checked;
  }
  EXPECT_GT(checked, 1900);
}

TEST(Stats, MinimumSampleForZeroEvents) {
  EXPECT_EQ(min_n_zero_events(0.001, 0.95), 2995u);
  EXPECT_EQ(min_n_zero_events(0.002, 0.95), 1497u);
  EXPECT_EQ(min_n_zero_events(0.01, 0.95), 299u);
  EXPECT_EQ(min_n_zero_events(0.01, 0.90), 230u);
  for (double e : {0.0005, 0.002, 0.03, 0.2})
    for (double c : {0.9, 0.95, 0.99}) {
      const uint64_t n = min_n_zero_events(e, c);
      EXPECT_LE(clopper_pearson_upper(0, n, c), e);
      EXPECT_GT(clopper_pearson_upper(0, n - 1, c), e);
    }
}

}  // namespace
}  // namespace triage::cli
