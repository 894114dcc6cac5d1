// Nearest-class-mean head: it is the exact linear form of the distance rule, the temperature minimises
// the leave-one-out loss, few-shot accuracy on clusters, and the 2-image minimum.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/adapt/test_data.h"
#include "tools/adapt/nearest_mean.h"

namespace triage::test {
namespace {


TEST(NearestMean, LinearHeadRanksClassesByDistanceToTheMeans) {
  const Clusters tr = make_clusters(4, 3, 16, 1.5, 11), te = make_clusters(4, 30, 16, 1.5, 12);
  adapt::Head h;
  adapt::NcmReport rep;
  std::string err;
  ASSERT_TRUE(adapt::fit_nearest_mean(problem_of(tr), tr.group, h, rep, &err)) << err;
  EXPECT_GT(rep.temperature, 0);
  // Class means, then for every test row: argmax of the linear head == argmin of the distance.
  std::vector<double> mu(size_t(tr.k) * tr.d, 0);
  for (int i = 0; i < tr.n; ++i)
    for (int j = 0; j < tr.d; ++j) mu[size_t(tr.y[i]) * tr.d + j] += tr.x[size_t(i) * tr.d + j] / 3.0;
  int right = 0;
  for (int i = 0; i < te.n; ++i) {
    int best_lin = 0, best_dist = 0;
    double bl = -1e300, bd = 1e300;
    for (int c = 0; c < tr.k; ++c) {
      double lin = h.bias[c], dist = 0;
      for (int j = 0; j < tr.d; ++j) {
        lin += double(h.weight[size_t(c) * tr.d + j]) * te.x[size_t(i) * tr.d + j];
        dist += std::pow(te.x[size_t(i) * tr.d + j] - mu[size_t(c) * tr.d + j], 2);
      }
      if (lin > bl) bl = lin, best_lin = c;
      if (dist < bd) bd = dist, best_dist = c;
    }
    EXPECT_EQ(best_lin, best_dist) << i;
    right += best_lin == te.y[i];
  }
  EXPECT_GE(right, te.n * 9 / 10);  // 3 shots, centres ~1.5*sqrt(32) = 8.5 apart against unit noise
}

TEST(NearestMean, TemperatureMinimisesTheLeaveOneOutLoss) {
  const Clusters tr = make_clusters(3, 5, 8, 0.4, 13);
  adapt::Head h;
  adapt::NcmReport rep;
  ASSERT_TRUE(adapt::fit_nearest_mean(problem_of(tr), tr.group, h, rep, nullptr));
  // Refit the loss at T * 1.3 and T / 1.3 by hand: both are worse.
  auto loo = [&](double T) {
    double loss = 0;
    for (int i = 0; i < tr.n; ++i) {
      std::vector<double> dist(tr.k, 0);
      for (int c = 0; c < tr.k; ++c) {
        int m = 0;
        std::vector<double> mu(tr.d, 0);
        for (int r = 0; r < tr.n; ++r)
          if (tr.y[r] == c && r != i) {
            ++m;
            for (int j = 0; j < tr.d; ++j) mu[j] += tr.x[size_t(r) * tr.d + j];
          }
        for (int j = 0; j < tr.d; ++j) dist[c] += std::pow(tr.x[size_t(i) * tr.d + j] - mu[j] / m, 2);
      }
      double mn = *std::min_element(dist.begin(), dist.end()), s = 0;
      for (double v : dist) s += std::exp(-(v - mn) / (2 * T));
      loss += std::log(s) + (dist[tr.y[i]] - mn) / (2 * T);
    }
    return loss / tr.n;
  };
  EXPECT_NEAR(loo(rep.temperature), rep.loo_loss, 1e-9);
  EXPECT_LT(rep.loo_loss, loo(rep.temperature * 1.3));
  EXPECT_LT(rep.loo_loss, loo(rep.temperature / 1.3));
}

TEST(NearestMean, NeedsTwoImagesPerClass) {
  Clusters tr = make_clusters(3, 2, 4, 1.0, 14);
  tr.y.pop_back();  // the last row (class 2) removed: class 2 keeps one image
  tr.group.pop_back();
  tr.n -= 1;
  tr.x.resize(size_t(tr.n) * tr.d);
  adapt::Head h;
  adapt::NcmReport rep;
  std::string err;
  EXPECT_FALSE(adapt::fit_nearest_mean(problem_of(tr), tr.group, h, rep, &err));
  EXPECT_NE(err.find("at least 2"), std::string::npos) << err;
}

TEST(NearestMean, RowsOfOneImageAreLeftOutTogether) {
  // Two rows per image (as the coarse and fine features are): with each image's two rows identical, a
  // class of 2 images still has a mean without the left-out image, and the fit succeeds.
  Clusters one = make_clusters(2, 2, 4, 1.0, 15);
  Clusters two;
  two.d = one.d;
  two.k = one.k;
  for (int i = 0; i < one.n; ++i)
    for (int r = 0; r < 2; ++r) {
      two.x.insert(two.x.end(), one.x.begin() + size_t(i) * one.d, one.x.begin() + size_t(i + 1) * one.d);
      two.y.push_back(one.y[i]);
      two.group.push_back(i);
    }
  two.n = 2 * one.n;
  adapt::Head h;
  adapt::NcmReport rep;
  ASSERT_TRUE(adapt::fit_nearest_mean(problem_of(two), two.group, h, rep, nullptr));
  EXPECT_TRUE(std::isfinite(rep.loo_loss));
}

}  // namespace
}  // namespace triage::test
