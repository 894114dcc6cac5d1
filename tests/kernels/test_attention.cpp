// Fused attention vs a naive double softmax(Q K^T * scale) V, for N = 1, 2, 17, 50, 86, 197 (and a
// multi-tile 300), hd 32 / 64, the CLS probability row, and query-range splits (bit-identical).
// Tolerance: inputs in [-1, 1], hd <= 64: scores |s| <= 8; the f32 dot products and exp carry
// ~1e-6 relative error, the output is a convex combination of V (|v| <= 1): 2e-5 abs is ample and
// still catches any indexing/softmax bug (which gives errors ~1e-1).
#include <cmath>
#include <cstring>

#include "tests/kernels/test_util.h"

namespace triage::kernels::test {
namespace {

struct Case {
  int n, heads, hd;
};

void naive(const std::vector<float>& qkv, int n, int dim, int heads, int head, float scale, int ld,
           std::vector<double>& out /* [n][hd] */, std::vector<double>& p0) {
  const int hd = dim / heads, c = head * hd;
  out.assign(size_t(n) * hd, 0);
  p0.assign(n, 0);
  std::vector<double> s(n);
  for (int i = 0; i < n; ++i) {
    double m = -1e300;
    for (int t = 0; t < n; ++t) {
      double d = 0;
      for (int j = 0; j < hd; ++j) d += double(qkv[i * ld + c + j]) * qkv[t * ld + dim + c + j];
      s[t] = d * scale;
      m = std::max(m, s[t]);
    }
    double l = 0;
    for (int t = 0; t < n; ++t) l += (s[t] = std::exp(s[t] - m));
    for (int t = 0; t < n; ++t) s[t] /= l;
    if (i == 0) p0 = s;
    for (int j = 0; j < hd; ++j) {
      double a = 0;
      for (int t = 0; t < n; ++t) a += s[t] * qkv[t * ld + 2 * dim + c + j];
      out[size_t(i) * hd + j] = a;
    }
  }
}

// The arguments of case c over qkv (row stride ld) into out (row stride ld_out), scale 1 / sqrt(hd).
AttentionArgs args_of(const Case& c, const float* qkv, int ld, float* out, int ld_out) {
  AttentionArgs a;
  a.qkv = qkv;
  a.ld_qkv = ld;
  a.n_tokens = c.n;
  a.dim = c.heads * c.hd;
  a.heads = c.heads;
  a.scale = 1.f / std::sqrt(float(c.hd));
  a.out = out;
  a.ld_out = ld_out;
  return a;
}

class Attention : public testing::TestWithParam<Isa> {};

TEST_P(Attention, MatchesNaiveSoftmax) {
  const Isa isa = GetParam();
  TRIAGE_REQUIRE_ISA(isa);
  const Case cases[] = {{1, 3, 64}, {2, 3, 64}, {17, 4, 32}, {50, 3, 64}, {86, 3, 64}, {197, 3, 64},
                        {29, 4, 32}, {65, 4, 32}, {1, 4, 32}, {2, 4, 32}, {197, 4, 32}, {300, 2, 64},
                        {13, 2, 24}, {7, 1, 5}};
  uint32_t seed = 3;
  for (const Case& c : cases) {
    const int dim = c.heads * c.hd, ld = 3 * dim + 4;
    const auto qkv = rand_f32(size_t(c.n) * ld, seed++, -1.f, 1.f);
    const float scale = 1.f / std::sqrt(float(c.hd));
    std::vector<float> out(size_t(c.n) * (dim + 2), 0.f), out2 = out;
    std::vector<float> scratch(attention_scratch_floats(isa, c.n, c.hd));
    for (int h = 0; h < c.heads; ++h) {
      std::vector<float> cls(c.n, -1.f), cls2(c.n, -1.f);
      AttentionArgs a = args_of(c, qkv.data(), ld, out.data(), dim + 2);
      a.cls_probs = cls.data();
      attention_f32(isa, a, h, 0, c.n, scratch.data());
      std::vector<double> want, p0;
      naive(qkv, c.n, dim, c.heads, h, scale, ld, want, p0);
      for (int i = 0; i < c.n; ++i)
        for (int j = 0; j < c.hd; ++j)
          ASSERT_NEAR(out[i * (dim + 2) + h * c.hd + j], want[size_t(i) * c.hd + j], 2e-5)
              << isa_name(isa) << " n" << c.n << " hd" << c.hd << " head " << h << " q" << i;
      for (int t = 0; t < c.n; ++t) ASSERT_NEAR(cls[t], p0[t], 1e-6) << "cls prob " << t;
      // Query-range split (uneven; CLS row only in the range that starts at 0): bit-identical.
      a.out = out2.data();
      a.cls_probs = cls2.data();
      for (int q0 = 0, step = 1; q0 < c.n; q0 += step, step = step * 2 + 1)
        attention_f32(isa, a, h, q0, std::min(c.n, q0 + step), scratch.data());
      for (int i = 0; i < c.n; ++i)
        ASSERT_EQ(0, std::memcmp(&out[i * (dim + 2) + h * c.hd], &out2[i * (dim + 2) + h * c.hd], sizeof(float) * c.hd))
            << "split changed query " << i;
      ASSERT_EQ(0, std::memcmp(cls.data(), cls2.data(), sizeof(float) * c.n));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, Attention, testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon),
                         isa_param_name);

// The AVX-512 kernel computes every score, softmax and output element with the AVX2 kernel's chain of
// operations (attention_f32_avx512.cpp), so the two must agree bit for bit: outputs and the CLS row,
// over the shapes above (head dims that are no multiple of 16 run the AVX2 kernel at both levels).
TEST(Attention, Avx512EqualsAvx2BitForBit) {
  TRIAGE_REQUIRE_ISA(Isa::Avx512);
  const Case cases[] = {{1, 3, 64}, {2, 3, 64}, {17, 4, 32}, {50, 3, 64}, {86, 3, 64}, {197, 3, 64},
                        {35, 4, 32}, {65, 4, 32}, {300, 2, 64}, {33, 2, 48}, {40, 1, 128}, {13, 2, 24}};
  uint32_t seed = 41;
  for (const Case& c : cases) {
    const int dim = c.heads * c.hd, ld = 3 * dim + 4;
    const auto qkv = rand_f32(size_t(c.n) * ld, seed++, -2.f, 2.f);
    std::vector<float> out[2];
    std::vector<float> cls[2];
    const Isa isas[2] = {Isa::Avx2, Isa::Avx512};
    for (int v = 0; v < 2; ++v) {
      out[v].assign(size_t(c.n) * dim, -7.f);
      cls[v].assign(size_t(c.heads) * c.n, -7.f);
      std::vector<float> scratch(attention_scratch_floats(isas[v], c.n, c.hd));
      AttentionArgs a = args_of(c, qkv.data(), ld, out[v].data(), dim);
      for (int h = 0; h < c.heads; ++h) {
        a.cls_probs = cls[v].data() + size_t(h) * c.n;
        attention_f32(isas[v], a, h, 0, c.n, scratch.data());
      }
    }
    ASSERT_EQ(0, std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)))
        << "n " << c.n << " heads " << c.heads << " hd " << c.hd;
    ASSERT_EQ(0, std::memcmp(cls[0].data(), cls[1].data(), cls[0].size() * sizeof(float)))
        << "CLS row, n " << c.n << " hd " << c.hd;
  }
}

}  // namespace
}  // namespace triage::kernels::test
