// Binomial tails and Clopper-Pearson bounds: the statistics behind an escape-rate claim ("with
// confidence C, the rate of defective images called good is at most E").
#pragma once

#include <cstdint>

namespace triage::cli {

// Largest n the functions accept (sums are O(k) with k <= n).
inline constexpr uint64_t kMaxBinomialN = uint64_t(1) << 32;

// P(X <= k) for X ~ Binomial(n, p), p in [0, 1]; 1 when k >= n.
double binomial_cdf(uint64_t k, uint64_t n, double p);

// One-sided exact (Clopper-Pearson) upper confidence bound on a rate after k events in n trials: the
// p with P(X <= k | n, p) = 1 - confidence (closed form 1 - (1-C)^(1/n) for k = 0); 1 when k >= n or
// n == 0. confidence in (0, 1).
double clopper_pearson_upper(uint64_t k, uint64_t n, double confidence);

// p-value of the null "rate > e" after k events in n trials: P(X <= k | n, e). Rejecting it at level
// a (p <= a) is the same as clopper_pearson_upper(k, n, 1 - a) <= e.
double binomial_p_value(uint64_t k, uint64_t n, double e);

// Smallest n at which 0 events in n trials certify rate <= e at this confidence:
// ceil(ln(1 - confidence) / ln(1 - e)). e and confidence in (0, 1).
uint64_t min_n_zero_events(double e, double confidence);

}  // namespace triage::cli
