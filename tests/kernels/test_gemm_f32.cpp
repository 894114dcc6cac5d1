// f32 GEMM: every ISA against the scalar reference over swept shapes (1, primes, tile edges, the
// model's shapes), all epilogue combinations, and row/column splits (must be bit-identical).
//
// Tolerance: scalar (mul+add) and FMA kernels round differently; both are within
// gamma_K = K * eps / (1 - K * eps) of sum_k |x_k w_k| from the exact dot product (Higham 3.1),
// so |fast - scalar| <= 2 K eps S, S = sum |x_k w_k|. Bias / residual adds add a few ulp of the
// result; GELU (|gelu'| <= 1.13) carries the difference through and adds the vectorised erf error
// (<= 3.5e-7 abs on erf -> 0.5 |v| 3.5e-7).
#include <cfloat>
#include <cmath>

#include "tests/kernels/test_util.h"

namespace triage::kernels::test {
namespace {

struct Shape {
  int m, n, k;
};

const Shape kShapes[] = {
    {1, 1, 1},    {1, 7, 13},   {7, 13, 31},   {13, 31, 61},  {61, 7, 13},  {6, 16, 8},
    {5, 17, 9},   {12, 32, 64}, {13, 33, 65},  {25, 47, 3},   {2, 576, 192}, {50, 576, 192},
    {50, 192, 192}, {50, 768, 192}, {50, 192, 768}, {86, 576, 192}, {197, 192, 768},
    {17, 384, 128}, {29, 512, 128}, {65, 128, 512}, {50, 7, 192}, {17, 9, 128}, {400, 192, 192}};

struct Epi {
  bool bias, gelu, accumulate, quant, y;
};
const Epi kEpis[] = {{false, false, false, false, true}, {true, false, false, false, true},
                     {true, true, false, false, true},   {true, false, true, false, true},
                     {true, true, true, false, true},    {true, true, false, true, false},
                     {true, false, true, true, true},    {false, false, false, true, false}};

struct Result {
  std::vector<float> y;
  std::vector<int8_t> yq;
  std::vector<float> yqs;
};

Result run_f32(Isa isa, const Shape& s, const Epi& e, const std::vector<float>& x,
            const std::vector<float>& w, const std::vector<float>& bias,
            const std::vector<float>& resid, const std::vector<std::pair<int, int>>& row_split,
            int col_splits) {
  Aligned packed(gemm_f32_packed_bytes(isa, s.n, s.k));
  const PackedF32 p = gemm_f32_pack(isa, w.data(), s.n, s.k, s.k, packed.p);
  std::vector<float> scratch(gemm_f32_scratch_floats(p) + 1);
  Result r;
  r.y = resid;
  r.yq.assign(size_t(s.m) * s.n, 0);
  r.yqs.assign(s.m, -1.f);
  GemmEpilogue ep;
  ep.bias = e.bias ? bias.data() : nullptr;
  ep.gelu = e.gelu;
  ep.accumulate = e.accumulate;
  ep.y = e.y ? r.y.data() : nullptr;
  ep.ldy = s.n;
  if (e.quant) {
    ep.yq = r.yq.data();
    ep.ldyq = s.n;
    ep.yq_scale = r.yqs.data();
  }
  const int cb = gemm_f32_col_block(p);
  for (auto [m0, m1] : row_split) {
    if (e.quant || col_splits <= 1) {
      gemm_f32(p, x.data(), s.k, ep, m0, m1, 0, s.n, scratch.data());
    } else {
      // Column blocks in chunks of a whole number of col blocks, processed last-to-first.
      const int nb = (s.n + cb - 1) / cb, per = (nb + col_splits - 1) / col_splits;
      for (int c = col_splits - 1; c >= 0; --c) {
        const int n0 = c * per * cb, n1 = std::min(s.n, (c + 1) * per * cb);
        if (n0 < n1) gemm_f32(p, x.data(), s.k, ep, m0, m1, n0, n1, scratch.data());
      }
    }
  }
  return r;
}

class GemmF32 : public testing::TestWithParam<Isa> {};

TEST_P(GemmF32, MatchesScalarReference) {
  const Isa isa = GetParam();
  TRIAGE_REQUIRE_ISA(isa);
  uint32_t seed = 1;
  for (const Shape& s : kShapes) {
    const auto x = rand_f32(size_t(s.m) * s.k, seed++, -2.f, 2.f);
    const auto w = rand_f32(size_t(s.n) * s.k, seed++, -0.5f, 0.5f);
    const auto bias = rand_f32(s.n, seed++);
    const auto resid = rand_f32(size_t(s.m) * s.n, seed++, -3.f, 3.f);
    // sum_k |x w| per element, for the bound.
    std::vector<double> S(size_t(s.m) * s.n);
    for (int i = 0; i < s.m; ++i)
      for (int j = 0; j < s.n; ++j) {
        double a = 0;
        for (int k = 0; k < s.k; ++k) a += std::fabs(double(x[i * s.k + k]) * w[j * s.k + k]);
        S[size_t(i) * s.n + j] = a;
      }
    for (const Epi& e : kEpis) {
      const std::vector<std::pair<int, int>> full = {{0, s.m}};
      const Result ref = run_f32(Isa::Scalar, s, e, x, w, bias, resid, full, 1);
      const Result got = run_f32(isa, s, e, x, w, bias, resid, full, 1);
      const double eps = FLT_EPSILON;
      int qdiff = 0;
      for (size_t i = 0; i < ref.y.size(); ++i) {
        const double r = ref.y[i], g = got.y[i];
        double tol = 2.0 * s.k * eps * S[i] * (e.gelu ? 1.13 : 1.0) + 4 * eps * std::fabs(r) + 1e-30;
        if (e.gelu) tol += 0.5 * 3.5e-7 * (std::fabs(r) + 6.0) + 4 * eps * (std::fabs(r) + 1.0);
        ASSERT_NEAR(g, r, tol) << isa_name(isa) << " m" << s.m << " n" << s.n << " k" << s.k << " elem " << i
                               << " bias" << e.bias << " gelu" << e.gelu << " acc" << e.accumulate;
      }
      if (e.quant) {
        for (size_t i = 0; i < ref.yq.size(); ++i) {
          const int d = std::abs(int(ref.yq[i]) - int(got.yq[i]));
          ASSERT_LE(d, 1) << "quantised output differs by more than one step at " << i;
          qdiff += d;
        }
        for (int i = 0; i < s.m; ++i) ASSERT_NEAR(got.yqs[i], ref.yqs[i], 1e-5 * std::fabs(ref.yqs[i]) + 1e-30);
      }
      // Determinism across partitions: uneven row ranges x column chunks, bit-identical.
      std::vector<std::pair<int, int>> split;
      for (int m0 = 0, step = 1; m0 < s.m; m0 += step, step = step * 2 + 1)
        split.push_back({m0, std::min(s.m, m0 + step)});
      const Result part = run_f32(isa, s, e, x, w, bias, resid, split, 3);
      ASSERT_EQ(0, std::memcmp(part.y.data(), got.y.data(), sizeof(float) * got.y.size()))
          << "row/column split changed f32 results (" << isa_name(isa) << ")";
      if (e.quant) {
        ASSERT_EQ(part.yq, got.yq);
        ASSERT_EQ(0, std::memcmp(part.yqs.data(), got.yqs.data(), sizeof(float) * s.m));
      }
      (void)qdiff;
    }
  }
}

TEST_P(GemmF32, AgainstDoubleOracle) {
  // The scalar reference itself vs a double-precision product, on one model shape.
  const Isa isa = GetParam();
  TRIAGE_REQUIRE_ISA(isa);
  const Shape s{50, 192, 768};
  const auto x = rand_f32(size_t(s.m) * s.k, 77);
  const auto w = rand_f32(size_t(s.n) * s.k, 78);
  const auto b = rand_f32(s.n, 79);
  const Result got = run_f32(isa, s, {true, false, false, false, true}, x, w, b,
                          std::vector<float>(size_t(s.m) * s.n), {{0, s.m}}, 1);
  for (int i = 0; i < s.m; ++i)
    for (int j = 0; j < s.n; ++j) {
      double a = b[j], S = std::fabs(b[j]);
      for (int k = 0; k < s.k; ++k) {
        a += double(x[i * s.k + k]) * w[j * s.k + k];
        S += std::fabs(double(x[i * s.k + k]) * w[j * s.k + k]);
      }
      ASSERT_NEAR(got.y[size_t(i) * s.n + j], a, (s.k + 2) * FLT_EPSILON * S);
    }
}

INSTANTIATE_TEST_SUITE_P(Isas, GemmF32,
                         testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx, Isa::Neon),
                         isa_param_name);

}  // namespace
}  // namespace triage::kernels::test
