// f16 (IEEE binary16) and bf16 <-> f32, bit-exact integer code: round to nearest, ties to even;
// Inf stays Inf, NaN stays NaN (quiet, sign and top payload bits kept), subnormals are converted
// exactly rather than flushed. Independent of the FPU rounding mode and FTZ/DAZ settings.
#include <cstring>

#include "weights_format/trw.h"

namespace triage::trw {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return float_of(sign | 0x7F800000u | (mant << 13));  // Inf / NaN
  if (exp == 0) {
    if (mant == 0) return float_of(sign);  // signed zero
    // Subnormal m * 2^-24: normalise so the leading 1 lands on bit 10, lowering the exponent.
    exp = 113;  // 2^-14 in f32's bias
    while ((mant & 0x400) == 0) {
      mant <<= 1;
      --exp;
    }
    return float_of(sign | (exp << 23) | ((mant & 0x3FF) << 13));
  }
  return float_of(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = bits_of(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t a = x & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return uint16_t(sign | 0x7E00 | ((a >> 13) & 0x3FF));  // NaN, made quiet
  if (a >= 0x477FF000u) return uint16_t(sign | 0x7C00);  // >= 65520 rounds to Inf (and Inf itself)
  const uint32_t exp = a >> 23;
  if (exp >= 113) {
    // Normal f16: rebias the exponent (-112 << 23), round the 13 dropped bits to nearest even; a
    // carry out of the mantissa correctly bumps the exponent.
    const uint32_t r = a + 0xC8000FFFu + ((a >> 13) & 1);
    return uint16_t(sign | (r >> 13));
  }
  if (exp < 102) return sign;  // below 2^-25: rounds to zero
  // Subnormal f16 (value < 2^-14): m = full * 2^(exp - 126), shift of 14..24 bits, round to even.
  const uint32_t full = (a & 0x7FFFFF) | 0x800000;
  const uint32_t shift = 126 - exp;
  uint32_t q = full >> shift;
  const uint32_t rem = full & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1))) ++q;  // q = 0x400 is the smallest normal: still right
  return uint16_t(sign | q);
}

float bf16_to_f32(uint16_t h) { return float_of(uint32_t(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t x = bits_of(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((x >> 16) | 0x40);  // NaN, made quiet
  // Round to nearest even on the dropped 16 bits; overflow past the largest finite value gives Inf.
  return uint16_t((x + 0x7FFFu + ((x >> 16) & 1)) >> 16);
}

}  // namespace triage::trw
