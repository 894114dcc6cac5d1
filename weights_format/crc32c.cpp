// CRC32C (Castagnoli, reflected polynomial 0x82F63B78). Two implementations with identical results:
// the SSE4.2 crc32 instruction (8 bytes per instruction) where the CPU has it, chosen once at run time,
// and a portable slicing-by-8 table version for every other machine.
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
__attribute__((target("sse4.2"))) uint32_t sse42_impl(const uint8_t* p, size_t n, uint32_t seed) {
  uint32_t c = ~seed;
  // Head bytes up to 8-byte alignment so the 8-byte loads below do not straddle cache lines.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
#if defined(__x86_64__)
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // x86 is little-endian: the byte order the CRC consumes
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = uint32_t(c64);
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
