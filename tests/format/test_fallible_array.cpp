// The library's non-throwing storage (weights_format/fallible_array.h) and fixed error text (trw.h):
// a Region hands out aligned bytes front to back and refuses what does not fit (never writing past
// its block), a measuring Region counts what a block would need for the same requests, rewind gives
// back the tail, and ErrorText cuts long messages instead of allocating.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "weights_format/fallible_array.h"
#include "weights_format/trw.h"

namespace triage {
namespace {

struct alignas(64) Line {
  unsigned char b[64];
};

TEST(Region, HandsOutAlignedBytesAndRefusesWhatDoesNotFit) {
  alignas(64) unsigned char block[512 + 16];
  for (auto& c : block) c = 0xAB;
  Region r(block, 512);
  FallibleArray<uint8_t> a;
  FallibleArray<Line> b;
  FallibleArray<double> c;
  ASSERT_TRUE(a.resize(3, &r));
  ASSERT_TRUE(b.resize(2, &r));  // at 64: 3 bytes, then aligned up
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<unsigned char*>(b.data()), block + 64);
  EXPECT_EQ(r.used(), 192u);
  EXPECT_EQ(b[1].b[63], 0) << "value-initialised";
  EXPECT_FALSE(c.resize(41, &r)) << "328 bytes after 192 do not fit in 512";
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(r.used(), 192u) << "a refused request takes nothing";
  ASSERT_TRUE(c.resize(40, &r));
  EXPECT_EQ(r.used(), 512u);
  for (int k = 512; k < 528; ++k) EXPECT_EQ(block[k], 0xAB) << "byte " << k << " past the block";
  const size_t mark = r.used();
  r.rewind(192);
  EXPECT_EQ(r.used(), 192u);
  EXPECT_EQ(r.peak(), mark);
  FallibleArray<double> d;
  ASSERT_TRUE(d.resize(8, &r));
  EXPECT_EQ(reinterpret_cast<unsigned char*>(d.data()), block + 192) << "the rewound bytes are handed out again";
}

TEST(Region, MeasuringCountsWhatABlockWouldNeed) {
  Region m;  // measuring: the heap gives, used / peak count
  FallibleArray<uint8_t> a;
  FallibleArray<Line> b;
  ASSERT_TRUE(a.resize(3, &m));
  ASSERT_TRUE(b.resize(2, &m));
  EXPECT_EQ(m.used(), 192u);
  EXPECT_TRUE(m.reserve(100, 64));
  EXPECT_EQ(m.peak(), 292u);
  // The same requests in a block of exactly peak() bytes all fit.
  alignas(64) unsigned char block[292];
  Region r(block, sizeof block);
  FallibleArray<uint8_t> a2;
  FallibleArray<Line> b2;
  ASSERT_TRUE(a2.resize(3, &r));
  ASSERT_TRUE(b2.resize(2, &r));
  EXPECT_TRUE(r.reserve(100, 64));
  EXPECT_FALSE(r.reserve(1, 1)) << "one byte more than measured";
}

TEST(FallibleArray, OverflowingSizesAreRefusedNotWrapped) {
  FallibleArray<double> a;
  EXPECT_FALSE(a.resize(SIZE_MAX / 4));
  EXPECT_TRUE(a.empty());
  Region m;
  EXPECT_FALSE(a.resize(SIZE_MAX / 8 + 1, &m));
  ASSERT_TRUE(a.resize(5));
  EXPECT_EQ(a[4], 0.0) << "value-initialised";
  a[4] = 2.5;
  FallibleArray<double> b = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(b[4], 2.5);
}

TEST(ErrorText, CutsLongMessagesAndReadsLikeAString) {
  trw::ErrorText t("abc");
  t += "def";
  EXPECT_EQ(t.view(), "abcdef");
  EXPECT_EQ(t.find("cd"), 2u);
  EXPECT_EQ(std::string("x: ") + t, "x: abcdef");
  const std::string big(5000, 'z');
  t = big;
  EXPECT_EQ(t.size(), trw::ErrorText::kCapacity - 1);
  EXPECT_EQ(t.c_str()[t.size()], '\0');
  t.format("%s-%d", "n", 7);
  EXPECT_EQ(t.view(), "n-7");
  t.format("%s", big.c_str());
  EXPECT_EQ(t.size(), trw::ErrorText::kCapacity - 1);
}

}  // namespace
}  // namespace triage
