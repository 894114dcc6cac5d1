// q8 GEMM: int32 accumulation is exact on every ISA, and the float epilogue performs the same f32
// operations in the same order ((float)acc * (xs * ws) + bias, then + residual), so every ISA must
// equal the scalar reference bit for bit, quantised output included. Only GELU differs (std::erf
// in the reference vs the vectorised erf, |err| <= 3.5e-7 abs): there the tolerance is
// 0.5 |v| 3.5e-7 + a few ulp, and the quantised output may differ by one step.
#include <cfloat>
#include <cmath>

#include "tests/kernels/test_util.h"
#if defined(__aarch64__)
#include "kernels/cpu/internal.h"
#endif

namespace triage::kernels::test {
namespace {

struct Shape {
  int m, n, k;
};
const Shape kShapes[] = {
    {1, 1, 1},     {1, 7, 13},    {7, 13, 31},    {13, 31, 61},   {61, 7, 13},   {4, 16, 8},
    {5, 17, 9},    {12, 32, 64},  {13, 33, 65},   {33, 47, 3},    {31, 61, 127}, {2, 576, 192},
    {50, 576, 192}, {50, 192, 192}, {50, 768, 192}, {50, 192, 768}, {86, 576, 192},
    {197, 192, 768}, {17, 384, 128}, {29, 512, 128}, {65, 128, 512}, {50, 7, 192}, {17, 9, 128},
    {400, 768, 192}};

struct Epi {
  bool bias, gelu, accumulate, quant, y;
};
const Epi kEpis[] = {{false, false, false, false, true}, {true, false, false, false, true},
                     {true, true, false, false, true},   {true, false, true, false, true},
                     {true, true, true, false, true},    {true, true, false, true, false},
                     {true, false, false, true, false},  {true, false, true, true, true}};

struct Result {
  std::vector<float> y;
  std::vector<int8_t> yq;
  std::vector<float> yqs;
};

struct Data {
  std::vector<int8_t> x, w;
  std::vector<float> xs, ws, bias, resid;
};

Result run_q8(Isa isa, const Shape& s, const Epi& e, const Data& d,
           const std::vector<std::pair<int, int>>& row_split, int col_splits) {
  Aligned packed(gemm_q8_packed_bytes(isa, s.n, s.k));
  const PackedQ8 p = gemm_q8_pack(isa, d.w.data(), d.ws.data(), s.n, s.k, s.k, packed.p);
  std::vector<float> scratch(gemm_q8_scratch_floats(p) + 1);
  Result r;
  r.y = d.resid;
  r.yq.assign(size_t(s.m) * s.n, 0);
  r.yqs.assign(s.m, -1.f);
  GemmEpilogue ep;
  ep.bias = e.bias ? d.bias.data() : nullptr;
  ep.gelu = e.gelu;
  ep.accumulate = e.accumulate;
  ep.y = e.y ? r.y.data() : nullptr;
  ep.ldy = s.n;
  if (e.quant) {
    ep.yq = r.yq.data();
    ep.ldyq = s.n;
    ep.yq_scale = r.yqs.data();
  }
  const int cb = gemm_q8_col_block(p);
  for (auto [m0, m1] : row_split) {
    if (e.quant || col_splits <= 1) {
      gemm_q8(p, d.x.data(), s.k, d.xs.data(), ep, m0, m1, 0, s.n, scratch.data());
    } else {
      const int nb = (s.n + cb - 1) / cb, per = (nb + col_splits - 1) / col_splits;
      for (int c = col_splits - 1; c >= 0; --c) {
        const int n0 = c * per * cb, n1 = std::min(s.n, (c + 1) * per * cb);
        if (n0 < n1) gemm_q8(p, d.x.data(), s.k, d.xs.data(), ep, m0, m1, n0, n1, scratch.data());
      }
    }
  }
  return r;
}

Data make_data(const Shape& s, uint32_t seed) {
  Data d;
  d.x = rand_i8(size_t(s.m) * s.k, seed);
  d.w = rand_i8(size_t(s.n) * s.k, seed + 1);
  d.xs = rand_f32(s.m, seed + 2, 1e-3f, 2e-2f);
  d.ws = rand_f32(s.n, seed + 3, 1e-4f, 4e-3f);
  d.bias = rand_f32(s.n, seed + 4);
  d.resid = rand_f32(size_t(s.m) * s.n, seed + 5, -3.f, 3.f);
  return d;
}

class GemmQ8 : public testing::TestWithParam<Isa> {};

TEST_P(GemmQ8, Int32AccumulationExact) {
  // Unit scales, no bias: y = (float)acc; compare with the exact int64 dot product. Extreme
  // values (all +-127, the largest |acc|) included.
  const Isa isa = GetParam();
  TRIAGE_REQUIRE_ISA(isa);
  for (const Shape& s : {Shape{13, 33, 65}, Shape{50, 192, 768}, Shape{5, 40, 3072}}) {
    for (int extreme = 0; extreme < 5; ++extreme) {
      Data d = make_data(s, 100 + extreme);
      if (extreme == 1) { std::fill(d.x.begin(), d.x.end(), int8_t(-127)); std::fill(d.w.begin(), d.w.end(), int8_t(-127)); }
      if (extreme == 2) { std::fill(d.x.begin(), d.x.end(), int8_t(127)); std::fill(d.w.begin(), d.w.end(), int8_t(-127)); }
      if (extreme == 3) {  // w = -128 is legal in a weight file; x stays within [-127, 127]
        std::fill(d.w.begin(), d.w.end(), int8_t(-128));
        for (size_t i = 0; i < d.x.size(); ++i) d.x[i] = int8_t(i % 2 ? 127 : -127);
      }
      if (extreme == 4) d.w = rand_i8(d.w.size(), 555, -128, 127);
      std::fill(d.xs.begin(), d.xs.end(), 1.f);
      std::fill(d.ws.begin(), d.ws.end(), 1.f);
      const Result got = run_q8(isa, s, {false, false, false, false, true}, d, {{0, s.m}}, 1);
      for (int i = 0; i < s.m; ++i)
        for (int j = 0; j < s.n; ++j) {
          int64_t a = 0;
          for (int k = 0; k < s.k; ++k) a += int64_t(d.x[i * s.k + k]) * d.w[j * s.k + k];
          ASSERT_EQ(got.y[size_t(i) * s.n + j], float(int32_t(a))) << isa_name(isa) << " " << i << "," << j;
        }
    }
  }
}

TEST_P(GemmQ8, MatchesScalarReference) {
  const Isa isa = GetParam();
  TRIAGE_REQUIRE_ISA(isa);
  uint32_t seed = 7;
  for (const Shape& s : kShapes) {
    const Data d = make_data(s, seed);
    seed += 11;
    for (const Epi& e : kEpis) {
      const Result ref = run_q8(Isa::Scalar, s, e, d, {{0, s.m}}, 1);
      const Result got = run_q8(isa, s, e, d, {{0, s.m}}, 1);
      if (!e.gelu) {
        ASSERT_EQ(0, std::memcmp(ref.y.data(), got.y.data(), sizeof(float) * ref.y.size()))
            << isa_name(isa) << " m" << s.m << " n" << s.n << " k" << s.k << " bias" << e.bias << " acc"
            << e.accumulate;
        if (e.quant) {
          ASSERT_EQ(ref.yq, got.yq);
          ASSERT_EQ(0, std::memcmp(ref.yqs.data(), got.yqs.data(), sizeof(float) * s.m));
        }
      } else {
        for (size_t i = 0; i < ref.y.size(); ++i) {
          const double r = ref.y[i];
          ASSERT_NEAR(got.y[i], r, 0.5 * 3.5e-7 * (std::fabs(r) + 6.0) + 8 * FLT_EPSILON * (std::fabs(r) + 1.0))
              << isa_name(isa) << " gelu elem " << i;
        }
        if (e.quant) {
          for (size_t i = 0; i < ref.yq.size(); ++i) {
            ASSERT_LE(std::abs(int(ref.yq[i]) - int(got.yq[i])), 1);
          }
        }
      }
      std::vector<std::pair<int, int>> split;
      for (int m0 = 0, step = 1; m0 < s.m; m0 += step, step = step * 2 + 1)
        split.push_back({m0, std::min(s.m, m0 + step)});
      const Result part = run_q8(isa, s, e, d, split, 3);
      ASSERT_EQ(0, std::memcmp(part.y.data(), got.y.data(), sizeof(float) * got.y.size()))
          << "row/column split changed q8 results (" << isa_name(isa) << ")";
      if (e.quant) {
        ASSERT_EQ(part.yq, got.yq);
      }
    }
  }
}

TEST_P(GemmQ8, StridedOperands) {
  // x, w and y with row strides larger than their widths (slices of bigger buffers).
  const Isa isa = GetParam();
  TRIAGE_REQUIRE_ISA(isa);
  const int m = 29, n = 40, k = 70, ldx = 96, ldw = 80, ldy = 50;
  const auto x = rand_i8(size_t(m) * ldx, 5), w = rand_i8(size_t(n) * ldw, 6);
  const auto xs = rand_f32(m, 7, 0.01f, 0.02f), ws = rand_f32(n, 8, 0.01f, 0.02f);
  std::vector<float> out[2];
  for (int v = 0; v < 2; ++v) {
    const Isa use = v ? isa : Isa::Scalar;
    Aligned packed(gemm_q8_packed_bytes(use, n, k));
    const PackedQ8 p = gemm_q8_pack(use, w.data(), ws.data(), n, k, ldw, packed.p);
    std::vector<float> scratch(gemm_q8_scratch_floats(p) + 1);
    out[v].assign(size_t(m) * ldy, 9.f);
    GemmEpilogue ep;
    ep.y = out[v].data();
    ep.ldy = ldy;
    gemm_q8(p, x.data(), ldx, xs.data(), ep, 0, m, 0, n, scratch.data());
  }
  EXPECT_EQ(0, std::memcmp(out[0].data(), out[1].data(), sizeof(float) * out[0].size()));
}

#if defined(__aarch64__)
// The Neon layout has two kernels: the ARMv8.0 one (SMULL/SMLAL/SADALP, any aarch64 CPU) and the SDOT
// one (dotprod CPUs); gemm_q8 picks one by HWCAP_ASIMDDP, so the sweep above checks only the one this
// CPU picks (qemu-aarch64's default CPU has dotprod). Both read the same blob; each must equal the scalar
// reference bit for bit (without GELU), and the two must equal each other bit for bit (with GELU too).
TEST(GemmQ8Neon, BothKernelsMatchScalar) {
  const Shape shapes[] = {{1, 1, 1},   {7, 13, 31},  {13, 33, 65}, {9, 17, 5},    {8, 8, 16},   {16, 24, 20},
                          {33, 47, 3}, {17, 9, 128}, {50, 192, 768}, {5, 40, 3072}, {29, 70, 7}, {3, 16, 12}};
  const bool dot = detail::neon_dotprod();
  if (!dot) std::printf("no dotprod on this CPU: only the ARMv8.0 kernel is checked\n");
  uint32_t seed = 900;
  for (const Shape& s : shapes) {
    for (int extreme = 0; extreme < 2; ++extreme) {
      Data d = make_data(s, seed++);
      if (extreme) {  // the largest int16 pair sums: w = -128 against x = +-127
        std::fill(d.w.begin(), d.w.end(), int8_t(-128));
        for (size_t i = 0; i < d.x.size(); ++i) d.x[i] = int8_t(i % 3 ? -127 : 127);
      }
      Aligned blob(gemm_q8_packed_bytes(Isa::Neon, s.n, s.k));
      const PackedQ8 p = gemm_q8_pack(Isa::Neon, d.w.data(), d.ws.data(), s.n, s.k, s.k, blob.p);
      ASSERT_EQ(p.isa, Isa::Neon);
      for (const Epi& e : kEpis) {
        if (e.quant || !e.y) continue;  // the row quantiser is the dispatcher's, checked in the sweep
        const Result ref = run_q8(Isa::Scalar, s, e, d, {{0, s.m}}, 1);
        std::vector<float> y[2] = {d.resid, d.resid};
        for (int v = 0; v < (dot ? 2 : 1); ++v) {
          const detail::GemmOut o{e.bias ? d.bias.data() : nullptr, e.gelu, e.accumulate, y[v].data(), s.n};
          const uint8_t* wp = static_cast<const uint8_t*>(p.data);
          if (v == 0) {
            detail::gemm_q8_4x8_neon(wp, s.n, s.k, d.x.data(), s.k, d.xs.data(), o, s.m, 0, s.n);
          } else {
            detail::gemm_q8_8x8_neondot(wp, s.n, s.k, d.x.data(), s.k, d.xs.data(), o, s.m, 0, s.n);
          }
          if (!e.gelu) {
            ASSERT_EQ(0, std::memcmp(ref.y.data(), y[v].data(), sizeof(float) * ref.y.size()))
                << (v ? "sdot" : "armv8.0") << " m" << s.m << " n" << s.n << " k" << s.k << " extreme" << extreme;
          } else {
            for (size_t i = 0; i < ref.y.size(); ++i) {
              const double r = ref.y[i];
              ASSERT_NEAR(y[v][i], r, 0.5 * 3.5e-7 * (std::fabs(r) + 6.0) + 8 * FLT_EPSILON * (std::fabs(r) + 1.0));
            }
          }
        }
        if (dot) {
          ASSERT_EQ(0, std::memcmp(y[0].data(), y[1].data(), sizeof(float) * y[0].size()));
        }
      }
    }
  }
}
#endif

INSTANTIATE_TEST_SUITE_P(Isas, GemmQ8,
                         testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx, Isa::Neon),
                         isa_param_name);

}  // namespace
}  // namespace triage::kernels::test
