// CRC32C: known vectors (RFC 3720 appendix B.4 and the CRC catalogue check value), and the hardware
// path equal to the portable table path on random data of every length and alignment.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "weights_format/trw.h"

namespace triage::trw {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

TEST(Crc32c, CheckValue) {
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_portable(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c({}), 0u);
  EXPECT_EQ(crc32c_portable({}), 0u);
}

TEST(Crc32c, Rfc3720Vectors) {
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF), inc(32), dec(32);
  for (int i = 0; i < 32; ++i) inc[i] = uint8_t(i), dec[i] = uint8_t(31 - i);
  for (auto f : {crc32c, crc32c_portable}) {
    EXPECT_EQ(f(zeros, 0), 0x8A9136AAu);
    EXPECT_EQ(f(ones, 0), 0x62A8AB43u);
    EXPECT_EQ(f(inc, 0), 0x46DD794Eu);
    EXPECT_EQ(f(dec, 0), 0x113FDB5Cu);
  }
}

TEST(Crc32c, SeedContinues) {
  std::mt19937 rng(7);
  std::vector<uint8_t> v(100000);
  for (auto& x : v) x = uint8_t(rng());
  const std::span<const uint8_t> all(v);
  for (size_t cut : {0ul, 1ul, 13ul, 4096ul, 24576ul, 99999ul, 100000ul}) {
    EXPECT_EQ(crc32c(all.subspan(cut), crc32c(all.first(cut))), crc32c(all)) << cut;
    EXPECT_EQ(crc32c_portable(all.subspan(cut), crc32c_portable(all.first(cut))), crc32c(all)) << cut;
  }
}

TEST(Crc32c, HardwareEqualsPortableEveryLengthAndAlignment) {
  if (!crc32c_has_hardware()) GTEST_SKIP() << "no SSE4.2 on this machine: crc32c() is the portable code";
  std::mt19937 rng(12345);
  std::vector<uint8_t> v(300 + 64);
  for (auto& x : v) x = uint8_t(rng());
  for (size_t align = 0; align < 16; ++align)
    for (size_t len = 0; len <= 300; ++len) {
      const std::span<const uint8_t> s(v.data() + align, len);
      ASSERT_EQ(crc32c(s), crc32c_portable(s)) << "len " << len << " align " << align;
      ASSERT_EQ(crc32c(s, 0xDEADBEEF), crc32c_portable(s, 0xDEADBEEF)) << "len " << len << " align " << align;
    }
}

TEST(Crc32c, HardwareEqualsPortableOnLongBuffers) {
  // Lengths around multiples of the 3 x 8192-byte interleaved blocks of the hardware path.
  std::mt19937 rng(99);
  std::vector<uint8_t> v(4 * 24576 + 64);
  for (auto& x : v) x = uint8_t(rng());
  for (size_t base : {24576ul, 2 * 24576ul, 3 * 24576ul, 4 * 24576ul})
    for (long d : {-9L, -8L, -1L, 0L, 1L, 7L, 8L, 63L})
      for (size_t align : {0ul, 3ul}) {
        const size_t len = size_t(long(base) + d);
        if (len + align > v.size()) continue;
        const std::span<const uint8_t> s(v.data() + align, len);
        ASSERT_EQ(crc32c(s, 0x1234), crc32c_portable(s, 0x1234)) << len << " " << align;
      }
}

TEST(Crc32c, DetectsEverySingleByteChange) {
  std::mt19937 rng(3);
  std::vector<uint8_t> v(777);
  for (auto& x : v) x = uint8_t(rng());
  const uint32_t ref = crc32c(v);
  for (size_t i = 0; i < v.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      v[i] ^= uint8_t(1 << bit);
      ASSERT_NE(crc32c(v), ref) << i;
      v[i] ^= uint8_t(1 << bit);
    }
}

}  // namespace
}  // namespace triage::trw
