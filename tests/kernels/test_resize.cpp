// Fused resize + normalise: hand-computed tiny cases, and AVX2 == scalar bit for bit (both do the
// same f32 operations, no FMA) for up/down/odd sizes, u8 and u16, row strides, row splits.
#include <cmath>

#include "tests/kernels/test_util.h"

namespace triage::kernels::test {
namespace {

TEST(Resize, HandComputedUpscaleRow) {
  // 1 x 2 image {0, 255} -> 4 x 4. scale 0.5: s = -0.25->0, 0.25, 0.75, 1.25 (i0 = 1 = i1):
  // x = 0, .25, .75, 1; normalised with mean .5, std .25: -2, -1, 1, 2 (exact in f32).
  const uint8_t img[2] = {0, 255};
  ResizeNorm p{4, 255.f, 0.5f, 0.25f};
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Neon}) {
    if (!have_isa(isa)) continue;
    std::vector<float> out(16), scratch(resize_scratch_floats(isa, 2, 1, 4));
    resize_normalize_u8(isa, img, 1, 2, 1, 2, p, out.data(), 0, 4, scratch.data());
    const float want[4] = {-2.f, -1.f, 1.f, 2.f};
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) EXPECT_EQ(out[y * 4 + x], want[x]) << isa_name(isa) << " " << y << "," << x;
  }
}

TEST(Resize, HandComputedDownscale) {
  // 4 x 4 image v = 10 y + x -> 2 x 2: s = 0.5 and 2.5, t = .5: 2x2 box averages.
  uint16_t img[16];
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) img[y * 4 + x] = uint16_t(10 * y + x);
  ResizeNorm p{2, 1.f, 0.f, 1.f};
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Neon}) {
    if (!have_isa(isa)) continue;
    std::vector<float> out(4), scratch(resize_scratch_floats(isa, 4, 1, 2));
    resize_normalize_u16(isa, img, 4, 4, 1, 4, p, out.data(), 0, 2, scratch.data());
    EXPECT_EQ(out[0], 5.5f);
    EXPECT_EQ(out[1], 7.5f);
    EXPECT_EQ(out[2], 25.5f);
    EXPECT_EQ(out[3], 27.5f);
  }
}

TEST(Resize, OneByOne) {
  const uint8_t img[1] = {51};
  ResizeNorm p{5, 255.f, 0.f, 1.f};
  std::vector<float> out(25);
  resize_normalize_u8(Isa::Scalar, img, 1, 1, 1, 1, p, out.data(), 0, 5, nullptr);
  for (float v : out) EXPECT_FLOAT_EQ(v, 51.f / 255.f);  // lerp of equal values: within 4 ulp
}

template <typename T>
void compare(int h, int w, int c, int S, uint32_t seed, Isa isa = Isa::Avx2, float stdev = 0.25f, float mean = 0.5f,
             float max_value = 0.f) {
  const int rs = w * c + 5;
  std::mt19937 g(seed);
  std::vector<T> img(size_t(h - 1) * rs + size_t(w) * c);  // exact extent: no slack after the last pixel
  const int maxv = sizeof(T) == 1 ? 255 : 65535;
  for (auto& v : img) v = T(g() % (maxv + 1));
  ResizeNorm p{S, max_value > 0.f ? max_value : float(maxv), mean, stdev};
  std::vector<float> a(size_t(S) * S * c, 1.f), b(size_t(S) * S * c, 2.f), d(size_t(S) * S * c, 3.f);
  std::vector<float> scratch(resize_scratch_floats(isa, w, c, S));
  auto run = [&](Isa isa, std::vector<float>& out, int y0, int y1) {
    if constexpr (sizeof(T) == 1) resize_normalize_u8(isa, img.data(), h, w, c, rs, p, out.data(), y0, y1, scratch.data());
    else resize_normalize_u16(isa, img.data(), h, w, c, rs, p, out.data(), y0, y1, scratch.data());
  };
  run(Isa::Scalar, a, 0, S);
  run(isa, b, 0, S);
  for (int y0 = 0, step = 1; y0 < S; y0 += step, step += 2) run(isa, d, y0, std::min(S, y0 + step));
  ASSERT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(float) * a.size())) << isa_name(isa) << " " << h << "x" << w << "->" << S;
  ASSERT_EQ(0, std::memcmp(a.data(), d.data(), sizeof(float) * a.size())) << "row split " << h << "x" << w;
  // Sanity against a double evaluation of the same formula (indices from the f32 rule).
  for (int oy = 0; oy < S; oy += 7)
    for (int ox = 0; ox < S; ox += 5) {
      auto axis = [](int dd, int n, int SS, int& i0, int& i1, double& t) {
        const float scale = float(n) / float(SS);
        float s = (float(dd) + 0.5f) * scale - 0.5f;
        s = s < 0 ? 0 : s;
        i0 = std::min(int(s), n - 1);
        i1 = std::min(i0 + 1, n - 1);
        t = s - i0;
      };
      int y0, y1, x0, x1;
      double ty, tx;
      axis(oy, h, S, y0, y1, ty);
      axis(ox, w, S, x0, x1, tx);
      auto v = [&](int y, int x) { return double(img[size_t(y) * rs + x * c]) / maxv; };
      const double r = (1 - ty) * ((1 - tx) * v(y0, x0) + tx * v(y0, x1)) + ty * ((1 - tx) * v(y1, x0) + tx * v(y1, x1));
      ASSERT_NEAR(a[(size_t(oy) * S + ox) * c], (r * maxv / p.max_value - mean) / stdev, 1e-5 / stdev);
    }
}

TEST(Resize, Avx2BitExactU8) {
  TRIAGE_REQUIRE_ISA(Isa::Avx2);
  compare<uint8_t>(25, 27, 1, 64, 1);
  compare<uint8_t>(224, 224, 1, 112, 2);
  compare<uint8_t>(224, 224, 1, 224, 3);
  compare<uint8_t>(300, 7, 1, 64, 4);
  compare<uint8_t>(1, 1, 1, 32, 5);
  compare<uint8_t>(52, 52, 1, 64, 6);
  compare<uint8_t>(1000, 900, 1, 224, 7);
  compare<uint8_t>(30, 31, 3, 16, 8);
  compare<uint8_t>(9, 5, 3, 24, 9);
  compare<uint8_t>(3, 2, 4, 17, 10);
}

// The normalisation's division: a stdev that is not a power of two divides (the power-of-two ones
// above may multiply by the reciprocal: the same bits); a max_value other than 255 / 65535 changes
// every entry of the u8 path's value table. Up- and down-scales, so both u8 paths run.
TEST(Resize, Avx2BitExactOtherNormalisations) {
  TRIAGE_REQUIRE_ISA(Isa::Avx2);
  for (float sd : {0.229f, 1.f, 3.f, 0.0625f, 1e-30f, 0x1p126f}) {  // 2^126: subnormal outputs
    compare<uint8_t>(192, 256, 3, 224, 20, Isa::Avx2, sd, 0.485f);
    compare<uint8_t>(192, 256, 3, 112, 21, Isa::Avx2, sd, 0.485f);
    compare<uint8_t>(13, 17, 1, 40, 22, Isa::Avx2, sd, -0.3f, 200.f);
    compare<uint16_t>(13, 17, 2, 40, 23, Isa::Avx2, sd, 0.1f, 4095.f);
  }
}

// A power-of-two stdev too small for its reciprocal to be finite (2^-140) must still divide: d * inf is
// NaN where d = 0 (a black pixel at mean 0, an identity resize) and d / 2^-140 is 0.
TEST(Resize, Avx2BitExactTinyPowerOfTwoStdev) {
  TRIAGE_REQUIRE_ISA(Isa::Avx2);
  const int n = 64;
  std::vector<uint8_t> img(size_t(n) * n);
  std::mt19937 g(31);
  for (auto& v : img) v = uint8_t(g() % 4);  // a quarter of the pixels 0
  ResizeNorm p{n, 255.f, 0.f, 0x1p-140f};
  std::vector<float> a(size_t(n) * n), b(a.size(), 5.f), scratch(resize_scratch_floats(Isa::Avx2, n, 1, n));
  resize_normalize_u8(Isa::Scalar, img.data(), n, n, 1, n, p, a.data(), 0, n, nullptr);
  resize_normalize_u8(Isa::Avx2, img.data(), n, n, 1, n, p, b.data(), 0, n, scratch.data());
  ASSERT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(float) * a.size()));
  EXPECT_EQ(a[0] == 0.f, img[0] == 0);  // the zeros are there to be checked
}

TEST(Resize, Avx2BitExactU16) {
  TRIAGE_REQUIRE_ISA(Isa::Avx2);
  compare<uint16_t>(25, 27, 1, 64, 11);
  compare<uint16_t>(224, 224, 1, 112, 12);
  compare<uint16_t>(300, 7, 1, 64, 13);
  compare<uint16_t>(1, 1, 1, 32, 14);
  compare<uint16_t>(111, 113, 1, 224, 15);
  compare<uint16_t>(40, 41, 2, 33, 16);
  compare<uint16_t>(7, 3, 3, 20, 17);
  compare<uint16_t>(2000, 1500, 1, 224, 18);
}

// NEON: the same bit-exactness, on a subset of the shapes (qemu runs these in CI): up / down / odd
// sizes, 1-4 channels, the image's exact extent (no slack after the last pixel), row splits.
TEST(Resize, NeonBitExactU8) {
  TRIAGE_REQUIRE_ISA(Isa::Neon);
  compare<uint8_t>(25, 27, 1, 64, 1, Isa::Neon);
  compare<uint8_t>(224, 224, 1, 112, 2, Isa::Neon);
  compare<uint8_t>(300, 7, 1, 64, 4, Isa::Neon);
  compare<uint8_t>(1, 1, 1, 32, 5, Isa::Neon);
  compare<uint8_t>(30, 31, 3, 16, 8, Isa::Neon);
  compare<uint8_t>(9, 5, 3, 24, 9, Isa::Neon);
  compare<uint8_t>(3, 2, 4, 17, 10, Isa::Neon);
}

TEST(Resize, NeonBitExactU16) {
  TRIAGE_REQUIRE_ISA(Isa::Neon);
  compare<uint16_t>(25, 27, 1, 64, 11, Isa::Neon);
  compare<uint16_t>(111, 113, 1, 224, 15, Isa::Neon);
  compare<uint16_t>(1, 1, 1, 32, 14, Isa::Neon);
  compare<uint16_t>(40, 41, 2, 33, 16, Isa::Neon);
  compare<uint16_t>(7, 3, 3, 20, 17, Isa::Neon);
}

}  // namespace
}  // namespace triage::kernels::test
