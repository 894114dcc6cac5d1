// Logistic-regression head fit: separable and overlapping Gaussian clusters (random, fixed seeds),
// optimality (gradient at the solution), the pull towards the prior, determinism, the lambda search.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tests/adapt/test_data.h"
#include "tools/adapt/softmax_regression.h"

namespace triage::test {
namespace {

using adapt::FitOptions;
using adapt::FitReport;
using adapt::Head;
using adapt::Problem;


std::vector<int> all(int n) {
  std::vector<int> r(n);
  for (int i = 0; i < n; ++i) r[i] = i;
  return r;
}

TEST(SoftmaxRegression, SeparatesWellSeparatedClustersAndGeneralises) {
  const Clusters tr = make_clusters(6, 20, 32, 1.5, 1), te = make_clusters(6, 50, 32, 1.5, 2);
  Head h;
  FitReport rep;
  std::string err;
  ASSERT_TRUE(adapt::fit_softmax_regression(problem_of(tr), FitOptions{}, h, rep, &err)) << err;
  EXPECT_TRUE(rep.converged) << rep.grad_norm;
  double acc_tr = 0, acc_te = 0;
  adapt::evaluate_head(problem_of(tr), h, all(tr.n), nullptr, &acc_tr);
  adapt::evaluate_head(problem_of(te), h, all(te.n), nullptr, &acc_te);
  EXPECT_EQ(acc_tr, 1.0);
  EXPECT_GE(acc_te, 0.97);  // centres ~1.5*sqrt(2*32) = 12 apart against unit noise: the Bayes error is ~0
}

TEST(SoftmaxRegression, SolutionIsAMinimumOfTheObjective) {
  // Overlapping clusters (not separable): the optimum is finite; every small move of a parameter raises
  // the objective evaluated independently here in raw-feature space.
  const Clusters tr = make_clusters(3, 30, 8, 0.3, 3);
  Problem p = problem_of(tr);
  FitOptions o;
  o.lambda = 0.05;
  o.tol = 1e-9;
  o.max_iter = 2000;
  Head h;
  FitReport rep;
  ASSERT_TRUE(adapt::fit_softmax_regression(p, o, h, rep, nullptr));
  // The fit penalises standardised weights: reproduce the objective from the same standardisation.
  std::vector<double> mu(p.d, 0), sd(p.d, 0);
  for (int i = 0; i < p.n; ++i)
    for (int j = 0; j < p.d; ++j) mu[j] += tr.x[size_t(i) * p.d + j] / p.n;
  for (int i = 0; i < p.n; ++i)
    for (int j = 0; j < p.d; ++j) sd[j] += std::pow(tr.x[size_t(i) * p.d + j] - mu[j], 2) / p.n;
  for (double& s : sd) s = std::sqrt(s);
  auto objective = [&](const Head& hh) {
    double loss = 0;
    adapt::evaluate_head(p, hh, all(p.n), &loss, nullptr);
    double reg = 0;
    for (int c = 0; c < p.k; ++c) {
      double bz = hh.bias[c];
      for (int j = 0; j < p.d; ++j) {
        const double wz = hh.weight[size_t(c) * p.d + j] * sd[j];
        reg += wz * wz;
        bz += hh.weight[size_t(c) * p.d + j] * mu[j];
      }
      reg += bz * bz;
    }
    return loss + 0.5 * o.lambda * reg;
  };
  const double f0 = objective(h);
  for (size_t t = 0; t < h.weight.size(); t += 5) {
    for (double e : {-1e-2, 1e-2}) {
      Head m = h;
      m.weight[t] += static_cast<float>(e / sd[t % p.d]);
      EXPECT_GT(objective(m), f0 - 1e-9) << "weight " << t;
    }
  }
  for (int c = 0; c < p.k; ++c)
    for (double e : {-1e-2, 1e-2}) {
      Head m = h;
      m.bias[c] += static_cast<float>(e);
      EXPECT_GT(objective(m), f0 - 1e-9) << "bias " << c;
    }
}

TEST(SoftmaxRegression, LargeLambdaStaysAtThePriorAndAClassWithoutRowsKeepsItsPrior) {
  const Clusters tr = make_clusters(3, 20, 8, 1.0, 4);
  Problem p = problem_of(tr);
  p.k = 4;  // class 3 has no rows (an old class absent from the new data)
  std::vector<float> w0(size_t(p.k) * p.d), b0(p.k);
  for (size_t i = 0; i < w0.size(); ++i) w0[i] = static_cast<float>(0.01 * ((i * 7) % 11) - 0.05);
  for (int c = 0; c < p.k; ++c) b0[c] = static_cast<float>(0.3 * c - 0.4);
  p.w0 = w0.data();
  p.b0 = b0.data();
  FitOptions o;
  o.lambda = 1e4;
  Head h;
  FitReport rep;
  ASSERT_TRUE(adapt::fit_softmax_regression(p, o, h, rep, nullptr));
  for (size_t i = 0; i < w0.size(); ++i) EXPECT_NEAR(h.weight[i], w0[i], 2e-3);
  for (int c = 0; c < p.k; ++c) EXPECT_NEAR(h.bias[c], b0[c], 2e-2);
  // With a weak pull the data decides classes 0..2, and class 3 (no rows) is pushed down but bounded.
  o.lambda = 1e-2;
  ASSERT_TRUE(adapt::fit_softmax_regression(p, o, h, rep, nullptr));
  double acc = 0;
  adapt::evaluate_head(p, h, all(p.n), nullptr, &acc);
  EXPECT_GE(acc, 0.95);  // centres ~1.0*sqrt(16) = 4 apart against unit noise: a few overlapping rows
  EXPECT_TRUE(std::isfinite(h.bias[3]));
}

TEST(SoftmaxRegression, FrozenRowsStayAtThePriorAndTheOthersLearnAgainstThem) {
  // Classes 0-2 frozen at a prior that decides them well (the fitted head of a first run), class 3 new.
  const Clusters tr = make_clusters(4, 15, 8, 1.5, 16);
  Head first;
  FitReport r;
  ASSERT_TRUE(adapt::fit_softmax_regression(problem_of(tr), FitOptions{}, first, r, nullptr));
  std::vector<float> w0 = first.weight, b0 = first.bias;
  for (int j = 0; j < tr.d; ++j) w0[size_t(3) * tr.d + j] = 0;  // the new class starts from nothing
  b0[3] = 0;
  const uint8_t frozen[4] = {1, 1, 1, 0};
  Problem p = problem_of(tr);
  p.w0 = w0.data();
  p.b0 = b0.data();
  p.frozen = frozen;
  Head h;
  ASSERT_TRUE(adapt::fit_softmax_regression(p, FitOptions{}, h, r, nullptr));
  for (size_t i = 0; i < size_t(3) * tr.d; ++i) EXPECT_NEAR(h.weight[i], w0[i], 1e-5f * (1 + std::fabs(w0[i]))) << i;
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(h.bias[c], b0[c], 1e-4f * (1 + std::fabs(b0[c])));
  double acc = 0;
  adapt::evaluate_head(p, h, all(p.n), nullptr, &acc);
  EXPECT_GE(acc, 0.95);
}

TEST(SoftmaxRegression, DeterministicBitForBit) {
  const Clusters tr = make_clusters(5, 12, 24, 0.5, 5);
  Head a, b;
  FitReport ra, rb;
  ASSERT_TRUE(adapt::fit_softmax_regression(problem_of(tr), FitOptions{}, a, ra, nullptr));
  ASSERT_TRUE(adapt::fit_softmax_regression(problem_of(tr), FitOptions{}, b, rb, nullptr));
  EXPECT_EQ(std::memcmp(a.weight.data(), b.weight.data(), 4 * a.weight.size()), 0);
  EXPECT_EQ(std::memcmp(a.bias.data(), b.bias.data(), 4 * a.bias.size()), 0);
  EXPECT_EQ(ra.iterations, rb.iterations);
}

TEST(SoftmaxRegression, SampleWeightsBalanceClasses) {
  // 40 rows of class 0, 4 of class 1, overlapping: unweighted the boundary favours class 0; with
  // weights n / (k * count) the minority class gets recalled more.
  Clusters a = make_clusters(2, 40, 4, 0.25, 6);
  Clusters t;
  t.d = a.d;
  t.k = 2;
  int ones = 0;
  for (int i = 0; i < a.n; ++i) {
    if (a.y[i] == 1 && ones++ >= 4) continue;
    t.x.insert(t.x.end(), a.x.begin() + size_t(i) * a.d, a.x.begin() + size_t(i + 1) * a.d);
    t.y.push_back(a.y[i]);
  }
  t.n = static_cast<int>(t.y.size());
  Problem p = problem_of(t);
  std::vector<double> w(t.n);
  for (int i = 0; i < t.n; ++i) w[i] = t.y[i] == 1 ? t.n / (2.0 * 4) : t.n / (2.0 * 40);
  Head hu, hw;
  FitReport r;
  ASSERT_TRUE(adapt::fit_softmax_regression(p, FitOptions{}, hu, r, nullptr));
  p.w = w.data();
  ASSERT_TRUE(adapt::fit_softmax_regression(p, FitOptions{}, hw, r, nullptr));
  const Clusters te = make_clusters(2, 200, 4, 0.25, 7);
  std::vector<int> ones_rows;
  for (int i = 0; i < te.n; ++i)
    if (te.y[i] == 1) ones_rows.push_back(i);
  double recall_u = 0, recall_w = 0;
  adapt::evaluate_head(problem_of(te), hu, ones_rows, nullptr, &recall_u);
  adapt::evaluate_head(problem_of(te), hw, ones_rows, nullptr, &recall_w);
  EXPECT_GT(recall_w, recall_u);
}

TEST(SoftmaxRegression, CrossValidationPrefersRegularisationOnNoisyFewShotData) {
  // 4 rows per class in 64 dimensions of pure noise around close centres: a tiny lambda overfits, the
  // held-out log-loss says so; on well separated data a small lambda wins.
  const Clusters noisy = make_clusters(3, 4, 64, 0.05, 8);
  std::vector<double> cv;
  const std::vector<double> grid = {1e-4, 1e-3, 1e-2, 1e-1, 1};
  const double l1 = adapt::choose_lambda(problem_of(noisy), noisy.group, grid, 4, FitOptions{}, &cv);
  ASSERT_EQ(cv.size(), grid.size());
  EXPECT_GE(l1, 1e-1);
  const Clusters clean = make_clusters(3, 20, 8, 2.0, 9);
  const double l2 = adapt::choose_lambda(problem_of(clean), clean.group, grid, 5, FitOptions{}, nullptr);
  EXPECT_LE(l2, 1e-2);
  EXPECT_EQ(l1, adapt::choose_lambda(problem_of(noisy), noisy.group, grid, 4, FitOptions{}, nullptr));
}

TEST(SoftmaxRegression, RefusesMalformedProblems) {
  Clusters c = make_clusters(2, 3, 4, 1.0, 10);
  Problem p = problem_of(c);
  Head h;
  FitReport r;
  std::string err;
  c.y[1] = 2;
  EXPECT_FALSE(adapt::fit_softmax_regression(p, FitOptions{}, h, r, &err));
  EXPECT_NE(err.find("label"), std::string::npos);
  c.y[1] = 1;
  c.x[3] = NAN;
  EXPECT_FALSE(adapt::fit_softmax_regression(p, FitOptions{}, h, r, &err));
  EXPECT_NE(err.find("finite"), std::string::npos);
  p.n = 0;
  EXPECT_FALSE(adapt::fit_softmax_regression(p, FitOptions{}, h, r, &err));
}

}  // namespace
}  // namespace triage::test
