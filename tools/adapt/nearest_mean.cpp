#include "tools/adapt/nearest_mean.h"

#include <algorithm>
#include <cmath>

namespace triage::adapt {
namespace {

// Leave-one-group-out squared distances: dist[n*k + c] = ||x_n - mu_c^(-group n)||^2.
struct LooDistances {
  int n = 0, k = 0;
  std::vector<double> dist;
};

double loo_loss(const LooDistances& L, const Problem& p, double T, double* acc) {
  double loss = 0, right = 0, wsum = 0;
  for (int i = 0; i < L.n; ++i) {
    const double* dd = L.dist.data() + static_cast<size_t>(i) * L.k;
    double mn = HUGE_VAL;
    int best = 0;
    for (int c = 0; c < L.k; ++c)
      if (dd[c] < mn) {
        mn = dd[c];
        best = c;
      }
    double sum = 0;
    for (int c = 0; c < L.k; ++c) sum += std::exp(-(dd[c] - mn) / (2 * T));
    const double w = p.w ? p.w[i] : 1.0;
    loss += w * (std::log(sum) + (dd[p.y[i]] - mn) / (2 * T));
    right += w * (best == p.y[i] ? 1 : 0);
    wsum += w;
  }
  if (acc) *acc = right / wsum;
  return loss / wsum;
}

}  // namespace

bool fit_nearest_mean(const Problem& p, const std::vector<int>& group, Head& out, NcmReport& rep, std::string* err) {
  const int n = p.n, d = p.d, k = p.k;
  if (n < 1 || d < 1 || k < 1) {
    if (err) *err = "empty problem";
    return false;
  }
  // Per class: sum of rows, row count; per (group, class): the group's own sum and count.
  std::vector<double> sum(static_cast<size_t>(k) * d, 0.0);
  std::vector<int> cnt(k, 0);
  int ngroups = 0;
  for (int i = 0; i < n; ++i) ngroups = std::max(ngroups, group[i] + 1);
  std::vector<int> group_class(ngroups, -1), groups_per_class(k, 0);
  std::vector<double> gsum(static_cast<size_t>(ngroups) * d, 0.0);
  std::vector<int> gcnt(ngroups, 0);
  for (int i = 0; i < n; ++i) {
    const int c = p.y[i], g = group[i];
    if (group_class[g] < 0) {
      group_class[g] = c;
      ++groups_per_class[c];
    }
    ++cnt[c];
    ++gcnt[g];
    for (int j = 0; j < d; ++j) {
      sum[static_cast<size_t>(c) * d + j] += p.x[static_cast<size_t>(i) * d + j];
      gsum[static_cast<size_t>(g) * d + j] += p.x[static_cast<size_t>(i) * d + j];
    }
  }
  for (int c = 0; c < k; ++c)
    if (groups_per_class[c] < 2) {
      if (err) *err = "class index " + std::to_string(c) + " has " + std::to_string(groups_per_class[c]) +
                      " images; the nearest-class-mean head needs at least 2 per class";
      return false;
    }
  LooDistances L;
  L.n = n;
  L.k = k;
  L.dist.resize(static_cast<size_t>(n) * k);
  for (int i = 0; i < n; ++i) {
    const float* x = p.x + static_cast<size_t>(i) * d;
    const int g = group[i];
    for (int c = 0; c < k; ++c) {
      const bool own = c == p.y[i];
      const double m = own ? cnt[c] - gcnt[g] : cnt[c];
      double s2 = 0;
      for (int j = 0; j < d; ++j) {
        const double mu = (sum[static_cast<size_t>(c) * d + j] - (own ? gsum[static_cast<size_t>(g) * d + j] : 0.0)) / m;
        const double e = x[j] - mu;
        s2 += e * e;
      }
      L.dist[static_cast<size_t>(i) * k + c] = s2;
    }
  }
  // T on a log grid (relative to the mean squared distance), then golden section in log T.
  double scale = 0;
  for (double v : L.dist) scale += v;
  scale = std::max(scale / static_cast<double>(L.dist.size()), 1e-12);
  double best_lt = 0, best = HUGE_VAL;
  for (int e = -40; e <= 20; ++e) {
    const double lt = std::log(scale) + 0.25 * e;
    const double v = loo_loss(L, p, std::exp(lt), nullptr);
    if (v < best) {
      best = v;
      best_lt = lt;
    }
  }
  double a = best_lt - 0.25, b = best_lt + 0.25;
  const double phi = 0.5 * (std::sqrt(5.0) - 1);
  double x1 = b - phi * (b - a), x2 = a + phi * (b - a);
  double f1 = loo_loss(L, p, std::exp(x1), nullptr), f2 = loo_loss(L, p, std::exp(x2), nullptr);
  for (int it = 0; it < 40; ++it) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - phi * (b - a);
      f1 = loo_loss(L, p, std::exp(x1), nullptr);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + phi * (b - a);
      f2 = loo_loss(L, p, std::exp(x2), nullptr);
    }
  }
  const double lt = 0.5 * (a + b);
  const double T = std::exp(std::min(f1, f2) <= best ? lt : best_lt);
  rep.temperature = T;
  rep.loo_loss = loo_loss(L, p, T, &rep.loo_accuracy);
  out.weight.assign(static_cast<size_t>(k) * d, 0.0f);
  out.bias.assign(k, 0.0f);
  for (int c = 0; c < k; ++c) {
    double n2 = 0;
    for (int j = 0; j < d; ++j) {
      const double mu = sum[static_cast<size_t>(c) * d + j] / cnt[c];
      out.weight[static_cast<size_t>(c) * d + j] = static_cast<float>(mu / T);
      n2 += mu * mu;
    }
    out.bias[c] = static_cast<float>(-n2 / (2 * T));
  }
  return true;
}

}  // namespace triage::adapt
