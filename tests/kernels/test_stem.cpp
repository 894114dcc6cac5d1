// Stem: 3x3 stride-2 pad-1 conv (NHWC, bias, ReLU) vs a naive conv on the PyTorch [cout, cin, 3, 3]
// weights; patch projection (repack + gather + GEMM) vs a naive p x p stride-p conv.
// Tolerance: K = 9 cin products per output; |fast - exact| <= (K + 1) eps sum |terms|.
#include <cfloat>
#include <cmath>

#include "tests/kernels/test_util.h"

namespace triage::kernels::test {
namespace {

struct ConvCase {
  int h, w, cin, cout;
};

// Random input (rows ld floats apart: a region inside a wider image), weights, bias and packed weights.
struct ConvData {
  std::vector<float> in, w, b, wp;
  ConvData(const ConvCase& c, int ld, uint32_t& seed)
      : in(rand_f32(size_t(c.h) * ld, seed++, -1.f, 1.f)),
        w(rand_f32(size_t(c.cout) * c.cin * 9, seed++, -0.5f, 0.5f)),
        b(rand_f32(c.cout, seed++)),
        wp(conv3x3s2_packed_floats(c.cout, c.cin)) {
    conv3x3s2_pack_f32(w.data(), c.cout, c.cin, wp.data());
  }
};

class Conv3x3 : public testing::TestWithParam<Isa> {};

TEST_P(Conv3x3, MatchesNaive) {
  const Isa isa = GetParam();
  TRIAGE_REQUIRE_ISA(isa);
  const ConvCase cases[] = {{112, 112, 1, 24}, {56, 56, 24, 48}, {32, 32, 1, 16}, {16, 16, 16, 32},
                            {32, 32, 1, 24}, {16, 16, 24, 48}, {7, 9, 3, 5}, {1, 1, 1, 8},
                            {5, 3, 2, 13}, {2, 2, 1, 1}, {9, 6, 4, 70}};
  uint32_t seed = 11;
  for (const ConvCase& c : cases) {
    const int ld = c.w * c.cin + 3;  // a region inside a wider image
    const ConvData d(c, ld, seed);
    const auto &in = d.in, &w = d.w, &b = d.b, &wp = d.wp;
    const int ho = (c.h + 1) / 2, wo = (c.w + 1) / 2;
    for (bool relu : {false, true}) {
      std::vector<float> out(size_t(ho) * wo * c.cout, -7.f), out2 = out;
      conv3x3s2_f32(isa, in.data(), c.h, c.w, c.cin, ld, wp.data(), b.data(), c.cout, relu, out.data(), 0, ho);
      for (int oy = 0; oy < ho; ++oy)
        for (int ox = 0; ox < wo; ++ox)
          for (int co = 0; co < c.cout; ++co) {
            double a = b[co], S = std::fabs(b[co]);
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx) {
                const int iy = 2 * oy - 1 + ky, ix = 2 * ox - 1 + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                for (int ci = 0; ci < c.cin; ++ci) {
                  const double t = double(in[iy * ld + ix * c.cin + ci]) * w[((co * c.cin + ci) * 3 + ky) * 3 + kx];
                  a += t;
                  S += std::fabs(t);
                }
              }
            if (relu) a = std::max(a, 0.0);
            ASSERT_NEAR(out[(size_t(oy) * wo + ox) * c.cout + co], a, (9 * c.cin + 2) * FLT_EPSILON * S)
                << isa_name(isa) << " " << c.h << "x" << c.w << " cin" << c.cin << " cout" << c.cout << " @" << oy
                << "," << ox << "," << co;
          }
      // Row split: bit-identical.
      for (int y0 = 0, step = 1; y0 < ho; y0 += step, ++step)
        conv3x3s2_f32(isa, in.data(), c.h, c.w, c.cin, ld, wp.data(), b.data(), c.cout, relu, out2.data(), y0,
                      std::min(ho, y0 + step));
      ASSERT_EQ(0, std::memcmp(out.data(), out2.data(), sizeof(float) * out.size()));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, Conv3x3, testing::Values(Isa::Scalar, Isa::Avx2), isa_param_name);

// The AVX2 kernel's exact arithmetic: every output is bias, then one fused multiply-add per tap in
// (ky, kx, ci) order, padding taps skipped, then max(v, +0) for ReLU, whatever group of pixels or
// output channels it was computed in (interior groups of 4, the left border's group, the 1-3 pixel
// remainders, single border pixels). So its bits are those of this scalar fmaf chain, and no change
// of tiling may move them (the q8 models' goldens run this stem).
TEST(Conv3x3, Avx2IsTheFmaChainBitForBit) {
  TRIAGE_REQUIRE_ISA(Isa::Avx2);
  const ConvCase cases[] = {{112, 112, 3, 24}, {56, 56, 24, 48}, {224, 224, 3, 24}, {64, 64, 16, 32},
                            {31, 29, 3, 24}, {30, 30, 24, 48}, {14, 18, 5, 32}, {12, 10, 3, 16},
                            {10, 10, 2, 8},  {8, 8, 3, 24},   {6, 6, 1, 24},  {4, 4, 2, 48},
                            {3, 5, 1, 40},   {2, 2, 3, 7},    {1, 9, 2, 17},  {9, 1, 3, 9}};
  uint32_t seed = 101;
  for (const ConvCase& c : cases) {
    const int ld = c.w * c.cin + 1;
    const ConvData d(c, ld, seed);
    const auto &in = d.in, &w = d.w, &b = d.b, &wp = d.wp;
    const int ho = (c.h + 1) / 2, wo = (c.w + 1) / 2;
    for (bool relu : {false, true}) {
      std::vector<float> out(size_t(ho) * wo * c.cout, -7.f);
      conv3x3s2_f32(Isa::Avx2, in.data(), c.h, c.w, c.cin, ld, wp.data(), b.data(), c.cout, relu, out.data(), 0, ho);
      for (int oy = 0; oy < ho; ++oy)
        for (int ox = 0; ox < wo; ++ox)
          for (int co = 0; co < c.cout; ++co) {
            float a = b[co];
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx) {
                const int iy = 2 * oy - 1 + ky, ix = 2 * ox - 1 + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                for (int ci = 0; ci < c.cin; ++ci)
                  a = std::fmaf(in[iy * ld + ix * c.cin + ci], w[((co * c.cin + ci) * 3 + ky) * 3 + kx], a);
              }
            if (relu) a = a > 0.f ? a : 0.f;
            const float got = out[(size_t(oy) * wo + ox) * c.cout + co];
            ASSERT_EQ(0, std::memcmp(&got, &a, sizeof a))
                << c.h << "x" << c.w << " cin" << c.cin << " cout" << c.cout << " relu " << relu << " @" << oy << ","
                << ox << "," << co << ": " << got << " vs " << a;
          }
    }
  }
}

TEST(PatchProjection, GatherPlusGemmEqualsConv) {
  struct P { int h, w, c2, p, d; };
  for (const P& c : {P{28, 28, 48, 4, 192}, P{8, 8, 32, 2, 128}, P{6, 9, 3, 3, 5}}) {
    const auto in = rand_f32(size_t(c.h) * c.w * c.c2, 21, -1.f, 1.f);
    const auto w = rand_f32(size_t(c.d) * c.c2 * c.p * c.p, 22, -0.2f, 0.2f);
    const auto b = rand_f32(c.d, 23);
    const int gh = c.h / c.p, gw = c.w / c.p, tokens = gh * gw, K = c.p * c.p * c.c2;
    std::vector<float> wr(size_t(c.d) * K), patches(size_t(tokens) * K);
    patch_weight_repack_f32(w.data(), c.d, c.c2, c.p, wr.data());
    patch_gather_f32(in.data(), c.h, c.w, c.c2, int64_t(c.w) * c.c2, c.p, patches.data(), K, 0, tokens);
    const Isa isa = detect_isa();
    Aligned packed(gemm_f32_packed_bytes(isa, c.d, K));
    const PackedF32 pk = gemm_f32_pack(isa, wr.data(), c.d, K, K, packed.p);
    std::vector<float> y(size_t(tokens) * c.d);
    GemmEpilogue ep;
    ep.bias = b.data();
    ep.y = y.data();
    ep.ldy = c.d;
    gemm_f32(pk, patches.data(), K, ep, 0, tokens, 0, c.d, nullptr);
    for (int t = 0; t < tokens; ++t)
      for (int o = 0; o < c.d; ++o) {
        double a = b[o], S = std::fabs(b[o]);
        for (int ci = 0; ci < c.c2; ++ci)
          for (int ky = 0; ky < c.p; ++ky)
            for (int kx = 0; kx < c.p; ++kx) {
              const int iy = (t / gw) * c.p + ky, ix = (t % gw) * c.p + kx;
              const double v = double(in[(size_t(iy) * c.w + ix) * c.c2 + ci]) * w[((size_t(o) * c.c2 + ci) * c.p + ky) * c.p + kx];
              a += v;
              S += std::fabs(v);
            }
        ASSERT_NEAR(y[size_t(t) * c.d + o], a, (K + 2) * FLT_EPSILON * S);
      }
    // int8 repack is the same permutation.
    const auto wi = rand_i8(size_t(c.d) * c.c2 * c.p * c.p, 24);
    std::vector<int8_t> wri(wi.size());
    patch_weight_repack_i8(wi.data(), c.d, c.c2, c.p, wri.data());
    for (int o = 0; o < c.d; ++o)
      for (int ci = 0; ci < c.c2; ++ci)
        for (int ky = 0; ky < c.p; ++ky)
          for (int kx = 0; kx < c.p; ++kx)
            ASSERT_EQ(wri[size_t(o) * K + (ky * c.p + kx) * c.c2 + ci], wi[((size_t(o) * c.c2 + ci) * c.p + ky) * c.p + kx]);
  }
}

}  // namespace
}  // namespace triage::kernels::test
