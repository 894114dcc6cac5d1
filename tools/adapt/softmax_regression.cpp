#include "tools/adapt/softmax_regression.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace triage::adapt {
namespace {

// The problem in standardised coordinates, with the parameters packed as theta = [Wz (k*d), bz (k)].
struct Standardised {
  int n = 0, d = 0, k = 0;
  std::vector<double> z;      // [n, d]
  std::vector<int> y;         // [n]
  std::vector<double> w;      // [n], normalised to sum 1
  std::vector<double> prior;  // theta of the prior
  std::vector<uint8_t> frozen;  // [k]
  std::vector<double> mu, sd;  // [d]
};

void standardise(const Problem& p, const std::vector<int>& rows, Standardised& s) {
  const int d = p.d, k = p.k, n = static_cast<int>(rows.size());
  s.n = n;
  s.d = d;
  s.k = k;
  s.mu.assign(d, 0.0);
  s.sd.assign(d, 0.0);
  for (int r : rows)
    for (int j = 0; j < d; ++j) s.mu[j] += p.x[static_cast<size_t>(r) * d + j];
  for (int j = 0; j < d; ++j) s.mu[j] /= n;
  for (int r : rows)
    for (int j = 0; j < d; ++j) {
      const double e = p.x[static_cast<size_t>(r) * d + j] - s.mu[j];
      s.sd[j] += e * e;
    }
  for (int j = 0; j < d; ++j) {
    s.sd[j] = std::sqrt(s.sd[j] / n);
    if (!(s.sd[j] > 1e-6)) s.sd[j] = 1.0;  // a constant feature: centred only
  }
  s.z.resize(static_cast<size_t>(n) * d);
  s.y.resize(n);
  s.w.resize(n);
  double wsum = 0;
  for (int i = 0; i < n; ++i) {
    const int r = rows[i];
    for (int j = 0; j < d; ++j) s.z[static_cast<size_t>(i) * d + j] = (p.x[static_cast<size_t>(r) * d + j] - s.mu[j]) / s.sd[j];
    s.y[i] = p.y[r];
    s.w[i] = p.w ? p.w[r] : 1.0;
    wsum += s.w[i];
  }
  for (double& v : s.w) v /= wsum;
  s.frozen.assign(k, 0);
  if (p.frozen)
    for (int c = 0; c < k; ++c) s.frozen[c] = p.frozen[c] ? 1 : 0;
  // Prior in standardised space: logits W0 x + b0 = (W0 * sd) z + (b0 + W0 . mu).
  s.prior.assign(static_cast<size_t>(k) * d + k, 0.0);
  for (int c = 0; c < k; ++c) {
    double b = p.b0 ? p.b0[c] : 0.0;
    for (int j = 0; j < d; ++j) {
      const double w0 = p.w0 ? p.w0[static_cast<size_t>(c) * d + j] : 0.0;
      s.prior[static_cast<size_t>(c) * d + j] = w0 * s.sd[j];
      b += w0 * s.mu[j];
    }
    s.prior[static_cast<size_t>(k) * d + c] = b;
  }
}

// Objective and gradient at theta.
double objective(const Standardised& s, double lambda, const std::vector<double>& th, std::vector<double>& g) {
  const int d = s.d, k = s.k;
  const size_t nb = static_cast<size_t>(k) * d;
  std::fill(g.begin(), g.end(), 0.0);
  std::vector<double> logit(k);
  double f = 0;
  for (int i = 0; i < s.n; ++i) {
    const double* z = s.z.data() + static_cast<size_t>(i) * d;
    double mx = -HUGE_VAL;
    for (int c = 0; c < k; ++c) {
      const double* wc = th.data() + static_cast<size_t>(c) * d;
      double a = th[nb + c];
      for (int j = 0; j < d; ++j) a += wc[j] * z[j];
      logit[c] = a;
      mx = std::max(mx, a);
    }
    double sum = 0;
    for (int c = 0; c < k; ++c) sum += (logit[c] = std::exp(logit[c] - mx));
    const double wi = s.w[i];
    f -= wi * std::log(logit[s.y[i]] / sum);
    for (int c = 0; c < k; ++c) {
      const double r = wi * (logit[c] / sum - (c == s.y[i] ? 1.0 : 0.0));
      double* gc = g.data() + static_cast<size_t>(c) * d;
      for (int j = 0; j < d; ++j) gc[j] += r * z[j];
      g[nb + c] += r;
    }
  }
  for (size_t t = 0; t < th.size(); ++t) {
    const double e = th[t] - s.prior[t];
    f += 0.5 * lambda * e * e;
    g[t] += lambda * e;
  }
  for (int c = 0; c < k; ++c)  // frozen rows never move from the prior
    if (s.frozen[c]) {
      std::fill_n(g.begin() + static_cast<size_t>(c) * d, d, 0.0);
      g[nb + c] = 0;
    }
  return f;
}

double inf_norm(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// L-BFGS (two-loop recursion, memory 10) with a backtracking Armijo line search, from the prior.
std::vector<double> lbfgs(const Standardised& s, const FitOptions& o, FitReport& rep) {
  const size_t np = s.prior.size();
  constexpr int kMem = 10;
  std::vector<double> th = s.prior, g(np), th2(np), g2(np), dir(np);
  std::vector<std::vector<double>> S, Y;
  std::vector<double> rho;
  double f = objective(s, o.lambda, th, g);
  rep = FitReport{};
  for (int it = 0; it < o.max_iter; ++it) {
    rep.iterations = it;
    if (inf_norm(g) <= o.tol) {
      rep.converged = true;
      break;
    }
    // dir = -H g
    dir = g;
    std::vector<double> alpha(S.size());
    for (int m = static_cast<int>(S.size()) - 1; m >= 0; --m) {
      alpha[m] = rho[m] * dot(S[m], dir);
      for (size_t t = 0; t < np; ++t) dir[t] -= alpha[m] * Y[m][t];
    }
    const double gamma = S.empty() ? 1.0 / std::max(1.0, std::sqrt(dot(g, g))) : dot(S.back(), Y.back()) / dot(Y.back(), Y.back());
    for (double& v : dir) v *= gamma;
    for (size_t m = 0; m < S.size(); ++m) {
      const double beta = rho[m] * dot(Y[m], dir);
      for (size_t t = 0; t < np; ++t) dir[t] += S[m][t] * (alpha[m] - beta);
    }
    for (double& v : dir) v = -v;
    double slope = dot(g, dir);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      S.clear();
      Y.clear();
      rho.clear();
      for (size_t t = 0; t < np; ++t) dir[t] = -g[t] / std::max(1.0, std::sqrt(dot(g, g)));
      slope = dot(g, dir);
    }
    double step = 1.0, f2 = 0;
    bool ok = false;
    for (int ls = 0; ls < 40; ++ls) {
      for (size_t t = 0; t < np; ++t) th2[t] = th[t] + step * dir[t];
      f2 = objective(s, o.lambda, th2, g2);
      if (std::isfinite(f2) && f2 <= f + 1e-4 * step * slope) {
        ok = true;
        break;
      }
      step *= 0.5;
    }
    if (!ok) break;  // no decrease possible at double precision: at the optimum
    std::vector<double> sv(np), yv(np);
    for (size_t t = 0; t < np; ++t) {
      sv[t] = th2[t] - th[t];
      yv[t] = g2[t] - g[t];
    }
    const double sy = dot(sv, yv);
    if (sy > 1e-12) {
      if (static_cast<int>(S.size()) == kMem) {
        S.erase(S.begin());
        Y.erase(Y.begin());
        rho.erase(rho.begin());
      }
      S.push_back(std::move(sv));
      Y.push_back(std::move(yv));
      rho.push_back(1.0 / sy);
    }
    th.swap(th2);
    g.swap(g2);
    f = f2;
    rep.iterations = it + 1;
  }
  rep.loss = f;
  rep.grad_norm = inf_norm(g);
  if (rep.grad_norm <= o.tol) rep.converged = true;
  return th;
}

void unstandardise(const Standardised& s, const std::vector<double>& th, Head& h) {
  const int d = s.d, k = s.k;
  h.weight.assign(static_cast<size_t>(k) * d, 0.0f);
  h.bias.assign(k, 0.0f);
  for (int c = 0; c < k; ++c) {
    double b = th[static_cast<size_t>(k) * d + c];
    for (int j = 0; j < d; ++j) {
      const double w = th[static_cast<size_t>(c) * d + j] / s.sd[j];
      h.weight[static_cast<size_t>(c) * d + j] = static_cast<float>(w);
      b -= w * s.mu[j];
    }
    h.bias[c] = static_cast<float>(b);
  }
}

bool check(const Problem& p, std::string* err) {
  auto fail = [&](const char* m) {
    if (err) *err = m;
    return false;
  };
  if (p.n < 1 || p.d < 1 || p.k < 1 || !p.x || !p.y) return fail("empty problem");
  for (int i = 0; i < p.n; ++i) {
    if (p.y[i] < 0 || p.y[i] >= p.k) return fail("a label is out of range");
    if (p.w && !(p.w[i] > 0 && std::isfinite(p.w[i]))) return fail("a sample weight is not positive and finite");
    for (int j = 0; j < p.d; ++j)
      if (!std::isfinite(p.x[static_cast<size_t>(i) * p.d + j])) return fail("a feature is not finite");
  }
  return true;
}

std::vector<int> all_rows(int n) {
  std::vector<int> r(n);
  for (int i = 0; i < n; ++i) r[i] = i;
  return r;
}

}  // namespace

bool fit_softmax_regression(const Problem& p, const FitOptions& o, Head& out, FitReport& rep, std::string* err) {
  if (!check(p, err)) return false;
  Standardised s;
  standardise(p, all_rows(p.n), s);
  unstandardise(s, lbfgs(s, o, rep), out);
  return true;
}

void evaluate_head(const Problem& p, const Head& h, const std::vector<int>& rows, double* loss, double* accuracy) {
  double l = 0, right = 0, wsum = 0;
  std::vector<double> a(p.k);
  for (int r : rows) {
    const float* x = p.x + static_cast<size_t>(r) * p.d;
    double mx = -HUGE_VAL;
    int best = 0;
    for (int c = 0; c < p.k; ++c) {
      double v = h.bias[c];
      for (int j = 0; j < p.d; ++j) v += static_cast<double>(h.weight[static_cast<size_t>(c) * p.d + j]) * x[j];
      a[c] = v;
      if (v > mx) {
        mx = v;
        best = c;
      }
    }
    double sum = 0;
    for (int c = 0; c < p.k; ++c) sum += std::exp(a[c] - mx);
    const double w = p.w ? p.w[r] : 1.0;
    l += w * (std::log(sum) - (a[p.y[r]] - mx));
    right += w * (best == p.y[r] ? 1.0 : 0.0);
    wsum += w;
  }
  if (loss) *loss = wsum > 0 ? l / wsum : 0;
  if (accuracy) *accuracy = wsum > 0 ? right / wsum : 0;
}

double choose_lambda(const Problem& p, const std::vector<int>& group, const std::vector<double>& grid, int folds,
                     const FitOptions& o, std::vector<double>* cv_loss) {
  // Stratified fold of each group: its class's running count modulo folds, in order of first appearance.
  std::vector<int> fold_of_group;
  std::vector<int> per_class(p.k, 0);
  std::vector<int> row_fold(p.n);
  for (int i = 0; i < p.n; ++i) {
    const int g = group[i];
    if (g >= static_cast<int>(fold_of_group.size())) fold_of_group.resize(g + 1, -1);
    if (fold_of_group[g] < 0) fold_of_group[g] = per_class[p.y[i]]++ % folds;
    row_fold[i] = fold_of_group[g];
  }
  if (cv_loss) cv_loss->clear();
  double best = grid.empty() ? o.lambda : grid[0], best_loss = HUGE_VAL;
  for (double lambda : grid) {
    double total = 0, wsum = 0;
    for (int f = 0; f < folds; ++f) {
      std::vector<int> tr, te;
      for (int i = 0; i < p.n; ++i) (row_fold[i] == f ? te : tr).push_back(i);
      if (te.empty() || tr.empty()) continue;
      Standardised s;
      standardise(p, tr, s);
      FitOptions fo = o;
      fo.lambda = lambda;
      FitReport rep;
      Head h;
      unstandardise(s, lbfgs(s, fo, rep), h);
      double l = 0;
      evaluate_head(p, h, te, &l, nullptr);
      double w = 0;
      for (int i : te) w += p.w ? p.w[i] : 1.0;
      total += l * w;
      wsum += w;
    }
    const double mean = wsum > 0 ? total / wsum : HUGE_VAL;
    if (cv_loss) cv_loss->push_back(mean);
    if (mean <= best_loss) {
      best_loss = mean;
      best = lambda;
    }
  }
  return best;
}

}  // namespace triage::adapt
