// BatchNorm folding: a conv with the folded weight + bias equals conv followed by BN (a direct scalar
// reference in double) on random inputs, within 1e-5 relative; both for fold_batchnorm itself and for
// the stem tensors of a converted (f32) file.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/convert/convert_helpers.h"
#include "tools/convert/fold_bn.h"

namespace triage::convert {
namespace {

// Direct conv 3x3, stride 2, pad 1, NCHW, one image; bias optional. Double accumulation.
std::vector<double> conv3x3s2(const std::vector<double>& x, int cin, int h, int w, const std::vector<float>& wt,
                              int cout, const std::vector<float>* bias) {
  const int oh = (h + 1) / 2, ow = (w + 1) / 2;
  std::vector<double> y(size_t(cout) * oh * ow);
  for (int o = 0; o < cout; ++o)
    for (int yy = 0; yy < oh; ++yy)
      for (int xx = 0; xx < ow; ++xx) {
        double acc = bias ? (*bias)[o] : 0.0;
        for (int c = 0; c < cin; ++c)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = 2 * yy - 1 + ky, ix = 2 * xx - 1 + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              acc += double(wt[((size_t(o) * cin + c) * 3 + ky) * 3 + kx]) * x[(size_t(c) * h + iy) * w + ix];
            }
        y[(size_t(o) * oh + yy) * ow + xx] = acc;
      }
  return y;
}

struct Bn {
  std::vector<float> gamma, beta, mean, var;
};

// conv then BN (inference), the unfolded reference.
std::vector<double> conv_bn(const std::vector<double>& x, int cin, int h, int w, const std::vector<float>& wt,
                            int cout, const Bn& bn, double eps) {
  std::vector<double> y = conv3x3s2(x, cin, h, w, wt, cout, nullptr);
  const size_t plane = y.size() / cout;
  for (int o = 0; o < cout; ++o)
    for (size_t i = 0; i < plane; ++i) {
      double& v = y[o * plane + i];
      v = (v - bn.mean[o]) / std::sqrt(double(bn.var[o]) + eps) * bn.gamma[o] + bn.beta[o];
    }
  return y;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(got[i] - want[i]), 1e-5 * std::max(1.0, std::fabs(want[i])))
        << what << " element " << i << ": " << got[i] << " vs " << want[i];
}

std::vector<double> random_image(int c, int h, int w, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(size_t(c) * h * w);
  for (auto& v : x) v = u(rng);
  return x;
}

TEST(FoldBn, FoldedConvMatchesConvThenBn) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> uw(-0.5f, 0.5f), ug(0.5f, 2.0f), um(-1.0f, 1.0f), uv(1e-3f, 4.0f);
  const int cin = 3, cout = 6, h = 13, w = 10;
  const double eps = 1e-5;
  std::vector<float> wt(size_t(cout) * cin * 9);
  for (auto& v : wt) v = uw(rng);
  Bn bn;
  for (int o = 0; o < cout; ++o) {
    bn.gamma.push_back(ug(rng) * (o % 2 ? -1.0f : 1.0f));
    bn.beta.push_back(um(rng));
    bn.mean.push_back(um(rng));
    bn.var.push_back(uv(rng));
  }
  std::vector<float> wf, bf;
  Error err;
  ASSERT_TRUE(fold_batchnorm(wt, bn.gamma, bn.beta, bn.mean, bn.var, eps, "stem.0.bn", wf, bf, err)) << err.message;
  for (uint32_t seed = 0; seed < 4; ++seed) {
    auto x = random_image(cin, h, w, 100 + seed);
    expect_close(conv3x3s2(x, cin, h, w, wf, cout, &bf), conv_bn(x, cin, h, w, wt, cout, bn, eps), "fold");
  }
}

TEST(FoldBn, NonPositiveVarianceRefused) {
  std::vector<float> wt(9, 1.0f), g = {1}, b = {0}, m = {0}, v = {-1};
  std::vector<float> wf, bf;
  Error err;
  EXPECT_FALSE(fold_batchnorm(wt, g, b, m, v, 1e-5, "stem.1.bn", wf, bf, err));
  EXPECT_NE(err.message.find("stem.1.bn: running_var[0]"), std::string::npos) << err.message;
}

// The converted file's stem.{j}.weight / .bias, chained through both stem convs (with ReLU between),
// match conv+BN+ReLU with the checkpoint's raw tensors.
TEST(FoldBn, ConvertedStemMatchesUnfoldedReference) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(5);
  test::Converted c;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, m, trw::DType::F32, c, err)) << err.message;
  EXPECT_EQ(c.file.find_tensor("stem.0.bn.weight"), nullptr);
  EXPECT_EQ(c.file.find_tensor("stem.0.conv.weight"), nullptr);
  const double eps = 1e-5;
  auto bn_of = [&](int j) {
    const std::string s = "stem." + std::to_string(j) + ".bn.";
    return Bn{m.weights[s + "weight"], m.weights[s + "bias"], m.weights[s + "running_mean"], m.weights[s + "running_var"]};
  };
  auto relu = [](std::vector<double> v) {
    for (auto& x : v) x = std::max(x, 0.0);
    return v;
  };
  const auto w0 = test::stored_values(c.file, "stem.0.weight"), b0 = test::stored_values(c.file, "stem.0.bias");
  const auto w1 = test::stored_values(c.file, "stem.1.weight"), b1 = test::stored_values(c.file, "stem.1.bias");
  ASSERT_EQ(w0.size(), 4u * 1 * 9);
  ASSERT_EQ(b1.size(), 8u);
  for (uint32_t seed = 0; seed < 3; ++seed) {
    auto x = random_image(1, 32, 32, 7 + seed);
    auto ref0 = relu(conv_bn(x, 1, 32, 32, m.weights["stem.0.conv.weight"], 4, bn_of(0), eps));
    auto got0 = relu(conv3x3s2(x, 1, 32, 32, w0, 4, &b0));
    expect_close(got0, ref0, "stem.0");
    // Layer 1 on the reference activations, so each layer's check is independent.
    auto ref1 = conv_bn(ref0, 4, 16, 16, m.weights["stem.1.conv.weight"], 8, bn_of(1), eps);
    auto got1 = conv3x3s2(ref0, 4, 16, 16, w1, 8, &b1);
    expect_close(got1, ref1, "stem.1");
  }
}

}  // namespace
}  // namespace triage::convert
