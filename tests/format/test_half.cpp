// f16 / bf16 conversions: decoding is checked exhaustively against the IEEE formula, encoding
// against a reference that picks the nearest representable value in double arithmetic (ties to the
// even encoding), on every f16/bf16 midpoint and its neighbours, a sweep over all f32 patterns, and
// (where the CPU has F16C) the hardware conversion.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "weights_format/trw.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace triage::trw {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Value of a non-negative f16 encoding as a double; the encoding 0x7C00 (reached only by rounding
// up from the largest finite value) counts as 2^16, where IEEE overflow rounding puts it.
double f16_value(uint16_t h) {
  const int e = (h >> 10) & 0x1F, m = h & 0x3FF;
  if (e == 0) return std::ldexp(double(m), -24);
  return std::ldexp(1.0 + m / 1024.0, e - 15);
}

// Same for bf16: 8 exponent bits, 7 mantissa bits; 0x7F80 counts as 2^128.
double bf16_value(uint16_t h) {
  const int e = (h >> 7) & 0xFF, m = h & 0x7F;
  if (e == 0) return std::ldexp(double(m), -133);
  return std::ldexp(1.0 + m / 128.0, e - 127);
}

// Nearest encoding of |x| among those <= max_enc (ties to even), found by binary search on value.
template <class ValueFn>
uint16_t nearest(double ax, uint16_t max_enc, ValueFn value) {
  uint16_t lo = 0, hi = max_enc;  // value(lo) <= ax < value(hi) once ax is in range
  if (ax >= value(max_enc)) return max_enc;
  while (hi - lo > 1) {
    const uint16_t mid = uint16_t((lo + hi) / 2);
    (value(mid) <= ax ? lo : hi) = mid;
  }
  const double dl = ax - value(lo), dh = value(hi) - ax;
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return (lo & 1) == 0 ? lo : hi;
}

uint16_t ref_f32_to_f16(float f) {
  const uint16_t sign = uint16_t((bits(f) >> 16) & 0x8000);
  if (std::isnan(f)) return 0;  // not used for NaN
  return uint16_t(sign | nearest(std::fabs(double(f)), 0x7C00, f16_value));
}

uint16_t ref_f32_to_bf16(float f) {
  const uint16_t sign = uint16_t((bits(f) >> 16) & 0x8000);
  return uint16_t(sign | nearest(std::fabs(double(f)), 0x7F80, bf16_value));
}

void expect_f16(float f) {
  if (std::isnan(f)) {
    const uint16_t h = f32_to_f16(f);
    ASSERT_EQ(h & 0x7C00, 0x7C00) << std::hex << bits(f);
    ASSERT_NE(h & 0x03FF, 0) << std::hex << bits(f);
    ASSERT_NE(h & 0x0200, 0) << "NaN must come out quiet";
    ASSERT_EQ(h & 0x8000, (bits(f) >> 16) & 0x8000);
    return;
  }
  ASSERT_EQ(f32_to_f16(f), ref_f32_to_f16(f)) << std::hex << "f32 bits 0x" << bits(f);
}

void expect_bf16(float f) {
  if (std::isnan(f)) {
    const uint16_t h = f32_to_bf16(f);
    ASSERT_EQ(h & 0x7F80, 0x7F80);
    ASSERT_NE(h & 0x0040, 0) << "NaN must come out quiet";
    ASSERT_EQ(h & 0x8000, (bits(f) >> 16) & 0x8000);
    return;
  }
  ASSERT_EQ(f32_to_bf16(f), ref_f32_to_bf16(f)) << std::hex << "f32 bits 0x" << bits(f);
}

TEST(Half, F16ToF32Exhaustive) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    const bool neg = h & 0x8000;
    const uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF;
    if (e == 0x1F && m != 0) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_EQ(bits(f) >> 13 & 0x3FF, m) << "NaN payload kept";
      ASSERT_EQ(std::signbit(f), neg);
      continue;
    }
    const double mag = e == 0x1F ? std::numeric_limits<double>::infinity() : f16_value(uint16_t(h & 0x7FFF));
    ASSERT_EQ(double(f), neg ? -mag : mag) << h;
    ASSERT_EQ(std::signbit(f), neg) << h;  // -0 stays -0
  }
}

TEST(Half, F16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      const uint16_t back = f32_to_f16(f);
      ASSERT_EQ(back, h | 0x0200) << h;  // payload kept, made quiet
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << h;
    }
  }
}

TEST(Half, F32ToF16MidpointsAndNeighbours) {
  // Every midpoint between adjacent f16 values is exact in f32; the float just below and above it
  // must round down and up, the midpoint itself to the even encoding.
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    const double mid = (f16_value(uint16_t(h)) + f16_value(uint16_t(h + 1))) / 2;
    const float m = float(mid);
    ASSERT_EQ(double(m), mid);
    for (float f : {m, std::nextafter(m, 0.0f), std::nextafter(m, 1e30f)}) {
      expect_f16(f);
      expect_f16(-f);
    }
  }
}

TEST(Half, F32ToF16Edges) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(inf), 0x7C00);
  EXPECT_EQ(f32_to_f16(-inf), 0xFC00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.996f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // the tie goes to the even encoding: Inf
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::max()), 0x7C00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // half of it: tie to even (0)
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp: tie to even (2)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.5f, -24)), 0x0400);  // rounds up out of the subnormals
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::denorm_min()), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie, even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie, even (up)
  for (uint32_t nan : {0x7FC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x7FA00000u}) expect_f16(from_bits(nan));
}

TEST(Half, F32ToF16SweepAndRandom) {
  for (uint64_t u = 0; u < (1ull << 32); u += 4093) expect_f16(from_bits(uint32_t(u)));
  std::mt19937 rng(2024);
  for (int i = 0; i < 200000; ++i) expect_f16(from_bits(uint32_t(rng())));
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t hw_f16(float f) {
  return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

TEST(Half, F32ToF16MatchesF16C) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "no F16C on this CPU";
  for (uint64_t u = 0; u < (1ull << 32); u += 1021) {
    const float f = from_bits(uint32_t(u));
    if (std::isnan(f)) continue;  // F16C and this code agree on NaN-ness, not on payload bits
    ASSERT_EQ(f32_to_f16(f), hw_f16(f)) << std::hex << u;
  }
}
#endif

TEST(Half, Bf16ToF32Exhaustive) {
  for (uint32_t h = 0; h < 0x10000; ++h) ASSERT_EQ(bits(bf16_to_f32(uint16_t(h))), h << 16) << h;
}

TEST(Half, Bf16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(uint16_t(h));
    ASSERT_EQ(f32_to_bf16(f), std::isnan(f) ? (h | 0x40) : h) << h;
  }
}

TEST(Half, F32ToBf16MidpointsEdgesSweep) {
  for (uint32_t h = 0; h < 0x7F80; h += 1) {
    const uint32_t mid = (h << 16) | 0x8000;  // exactly half way to the next encoding
    for (uint32_t u : {mid, mid - 1, mid + 1}) {
      expect_bf16(from_bits(u));
      expect_bf16(from_bits(u | 0x80000000u));
    }
  }
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_bf16(inf), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-inf), 0xFF80);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds past the largest bf16
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7F7FFF)), 0x7F7F);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000)), 0x0002);  // subnormal tie, even up
  EXPECT_EQ(f32_to_bf16(from_bits(0x00008000)), 0x0000);  // subnormal tie, even down
  for (uint32_t nan : {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu}) expect_bf16(from_bits(nan));
  for (uint64_t u = 0; u < (1ull << 32); u += 4099) expect_bf16(from_bits(uint32_t(u)));
}

}  // namespace
}  // namespace triage::trw
