// Binomial sums in log space (lgamma), so n up to 2^32 neither overflows nor underflows term by term.
#include "tools/cli/stats.h"

#include <algorithm>
#include <cmath>

namespace triage::cli {

double binomial_cdf(uint64_t k, uint64_t n, double p) {
  if (k >= n || p <= 0) return 1.0;
  if (p >= 1) return 0.0;
  const double nn = static_cast<double>(n);
  const double lp = std::log(p), lq = std::log1p(-p);
  const double lgn = std::lgamma(nn + 1);
  auto term = [&](uint64_t i) {
    const double di = static_cast<double>(i);
    return std::exp(lgn - std::lgamma(di + 1) - std::lgamma(nn - di + 1) + di * lp + (nn - di) * lq);
  };
  // Sum away from the mode, where terms shrink geometrically: stop once they no longer count.
  double sum = 0;
  if (static_cast<double>(k) <= nn * p) {  // lower tail: terms fall from i = k down to 0
    for (uint64_t i = k + 1; i-- > 0;) {
      const double t = term(i);
      sum += t;
      if (t <= sum * 1e-18) break;
    }
    return std::min(sum, 1.0);
  }
  for (uint64_t i = k + 1; i <= n; ++i) {  // upper tail: terms fall from i = k + 1 up to n
    const double t = term(i);
    sum += t;
    if (t <= sum * 1e-18) break;
  }
  return std::max(0.0, 1.0 - sum);
}

double clopper_pearson_upper(uint64_t k, uint64_t n, double confidence) {
  if (n == 0 || k >= n) return 1.0;
  const double alpha = 1.0 - confidence;
  if (k == 0) return -std::expm1(std::log(alpha) / static_cast<double>(n));
  // binomial_cdf is decreasing in p: bisect for cdf = alpha between k/n (cdf >= ~1/2) and 1.
  double lo = static_cast<double>(k) / static_cast<double>(n), hi = 1.0;
  for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (binomial_cdf(k, n, mid) > alpha) lo = mid;
    else hi = mid;
  }
  return hi;  // the conservative side
}

double binomial_p_value(uint64_t k, uint64_t n, double e) { return binomial_cdf(k, n, e); }

uint64_t min_n_zero_events(double e, double confidence) {
  const double n = std::ceil(std::log(1.0 - confidence) / std::log1p(-e));
  return n > static_cast<double>(kMaxBinomialN) ? kMaxBinomialN : static_cast<uint64_t>(n);
}

}  // namespace triage::cli
