// CRC32C (Castagnoli, reflected polynomial 0x82F63B78). Two implementations with identical results:
// the SSE4.2 crc32 instruction (8 bytes per instruction, three streams) where the CPU has it, chosen
// once at run time, and a portable slicing-by-8 table version for every other machine.
#include <cstring>

#include "weights_format/le_bytes.h"
#include "weights_format/trw.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define TRIAGE_CRC_X86 1
#endif

namespace triage::trw {
namespace {

struct Tables {
  uint32_t t[8][256];
};

constexpr Tables make_tables() {
  Tables tb{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    tb.t[0][i] = c;
  }
  // t[k][i]: the CRC contribution of byte i followed by k zero bytes.
  for (int k = 1; k < 8; ++k)
    for (uint32_t i = 0; i < 256; ++i) tb.t[k][i] = (tb.t[k - 1][i] >> 8) ^ tb.t[0][tb.t[k - 1][i] & 0xFF];
  return tb;
}

constexpr Tables kTables = make_tables();

uint32_t portable_impl(const uint8_t* p, size_t n, uint32_t seed) {
  const auto& t = kTables.t;
  uint32_t c = ~seed;
  while (n >= 8) {
    const uint32_t lo = load_u32(p) ^ c;
    const uint32_t hi = load_u32(p + 4);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = t[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}

#ifdef TRIAGE_CRC_X86
// The crc32 instruction has a latency of 3 cycles and a throughput of 1, so three independent
// streams over adjacent blocks run three times as fast as one; their CRCs are then combined by
// "appending kLong zero bytes" to the running CRC, a linear operator on the 32-bit state that is
// precomputed as four 256-entry tables (GF(2) matrix squaring, as in zlib's crc32_combine).
constexpr size_t kLong = 8192;

uint32_t gf2_times(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec != 0; vec >>= 1, ++mat)
    if (vec & 1) sum ^= *mat;
  return sum;
}

void gf2_square(uint32_t* sq, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) sq[n] = gf2_times(mat, mat[n]);
}

struct ShiftTables {
  uint32_t t[4][256];
};

// Tables that apply `len` (a power of two) zero bytes to a raw CRC state.
ShiftTables make_shift_tables(size_t len) {
  uint32_t even[32], odd[32];
  odd[0] = 0x82F63B78u;  // the operator for one zero bit
  for (int n = 1; n < 32; ++n) odd[n] = 1u << (n - 1);
  gf2_square(even, odd);  // two zero bits
  gf2_square(odd, even);  // four zero bits
  for (;;) {
    gf2_square(even, odd);  // 8, 32, 128... bits
    len >>= 1;
    if (len == 0) break;
    gf2_square(odd, even);
    len >>= 1;
    if (len == 0) {
      std::memcpy(even, odd, sizeof odd);
      break;
    }
  }
  ShiftTables st{};
  for (uint32_t n = 0; n < 256; ++n)
    for (int k = 0; k < 4; ++k) st.t[k][n] = gf2_times(even, n << (8 * k));
  return st;
}

const ShiftTables& long_shift() {
  static const ShiftTables st = make_shift_tables(kLong);
  return st;
}

uint32_t shift(const ShiftTables& st, uint32_t crc) {
  return st.t[0][crc & 0xFF] ^ st.t[1][(crc >> 8) & 0xFF] ^ st.t[2][(crc >> 16) & 0xFF] ^ st.t[3][crc >> 24];
}

__attribute__((target("sse4.2"))) uint32_t sse42_impl(const uint8_t* p, size_t n, uint32_t seed) {
  uint32_t c = ~seed;
  // Head bytes up to 8-byte alignment so the 8-byte loads below do not straddle cache lines.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
#if defined(__x86_64__)
  uint64_t c0 = c;
  if (n >= 3 * kLong) {
    const ShiftTables& st = long_shift();
    do {
      uint64_t c1 = 0, c2 = 0;
      for (const uint8_t* end = p + kLong; p < end; p += 8) {
        uint64_t v0, v1, v2;  // x86 is little-endian: the byte order the CRC consumes
        std::memcpy(&v0, p, 8);
        std::memcpy(&v1, p + kLong, 8);
        std::memcpy(&v2, p + 2 * kLong, 8);
        c0 = _mm_crc32_u64(c0, v0);
        c1 = _mm_crc32_u64(c1, v1);
        c2 = _mm_crc32_u64(c2, v2);
      }
      c0 = shift(st, uint32_t(c0)) ^ uint32_t(c1);
      c0 = shift(st, uint32_t(c0)) ^ uint32_t(c2);
      p += 2 * kLong;
      n -= 3 * kLong;
    } while (n >= 3 * kLong);
  }
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c0 = _mm_crc32_u64(c0, v);
    p += 8;
    n -= 8;
  }
  c = uint32_t(c0);
#endif
  while (n > 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
  return ~c;
}
#endif

using Impl = uint32_t (*)(const uint8_t*, size_t, uint32_t);

Impl pick_impl() {
#ifdef TRIAGE_CRC_X86
  if (__builtin_cpu_supports("sse4.2")) return sse42_impl;
#endif
  return portable_impl;
}

Impl impl() {
  static const Impl chosen = pick_impl();  // thread-safe one-time initialisation
  return chosen;
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t seed) { return impl()(bytes.data(), bytes.size(), seed); }

uint32_t crc32c_portable(std::span<const uint8_t> bytes, uint32_t seed) {
  return portable_impl(bytes.data(), bytes.size(), seed);
}

bool crc32c_has_hardware() { return impl() != portable_impl; }

}  // namespace triage::trw
