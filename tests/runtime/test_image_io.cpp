// Image readers of `triage run` (tools/cli/image_io): round trips of every supported format, and
// malformed / hostile files rejected with a message (truncation, corruption, bad headers, huge dims).
#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <cstring>
#include <random>
#include <string>

#include "tests/runtime/png_writer.h"
#include "tools/cli/image_io.h"

namespace triage::cli {
namespace {

std::vector<uint8_t> encode_png(uint32_t w, uint32_t h, int depth, int color, const std::vector<uint8_t>& rows_be) {
  PngSpec s;
  s.w = w;
  s.h = h;
  s.depth = depth;
  s.color = color;
  return write_png(s, rows_be);
}

std::vector<uint8_t> npy(const std::string& descr, const std::string& shape, const std::vector<uint8_t>& data,
                         bool fortran = false) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::vector<uint8_t> f = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, uint8_t(h.size() & 0xFF), uint8_t(h.size() >> 8)};
  f.insert(f.end(), h.begin(), h.end());
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

TEST(ImageIo, Png8And16BitGray) {
  std::vector<uint8_t> px(7 * 5);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 7);
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(encode_png(7, 5, 8, PNG_COLOR_TYPE_GRAY, px), img, err)) << err;
  EXPECT_EQ(img.pixel, uint32_t(TRIAGE_PIXEL_U8));
  EXPECT_EQ(img.width, 7u);
  EXPECT_EQ(img.height, 5u);
  EXPECT_EQ(0, std::memcmp(img.bytes(), px.data(), px.size()));

  std::vector<uint8_t> be(2 * 3 * 4);
  for (size_t i = 0; i < 12; ++i) {
    be[2 * i] = static_cast<uint8_t>(i * 20);  // big-endian in the file
    be[2 * i + 1] = static_cast<uint8_t>(i);
  }
  ASSERT_TRUE(decode_image(encode_png(3, 4, 16, PNG_COLOR_TYPE_GRAY, be), img, err)) << err;
  EXPECT_EQ(img.pixel, uint32_t(TRIAGE_PIXEL_U16));
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(img.storage[i], (i * 20) << 8 | i);
}

TEST(ImageIo, Png2BitKeepsRawValues) {  // wafer maps: values 0/1/2, not rescaled to 0..255
  std::vector<uint8_t> packed = {0b00011000, 0b10000000};  // 5 pixels: 0 1 2 0 | 2
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(encode_png(5, 1, 2, PNG_COLOR_TYPE_GRAY, packed), img, err)) << err;
  const uint8_t want[] = {0, 1, 2, 0, 2};
  EXPECT_EQ(0, std::memcmp(img.bytes(), want, 5));
}

TEST(ImageIo, PngRejections) {
  std::vector<uint8_t> px(64 * 64, 9);
  const std::vector<uint8_t> good = encode_png(64, 64, 8, PNG_COLOR_TYPE_GRAY, px);
  Image img;
  std::string err;
  for (size_t cut : {size_t(8), size_t(20), size_t(33), good.size() / 2, good.size() - 13}) {
    std::vector<uint8_t> t(good.begin(), good.begin() + cut);
    EXPECT_FALSE(decode_image(t, img, err)) << cut;
    EXPECT_FALSE(err.empty());
  }
  std::vector<uint8_t> bad = good;
  bad[40] ^= 0xFF;  // inside IDAT (or its CRC)
  EXPECT_FALSE(decode_image(bad, img, err));
  // A valid RGB PNG cut inside IDAT (colour files decode: tests/runtime/test_image_formats.cpp).
  const std::vector<uint8_t> rgb = encode_png(4, 4, 8, PNG_COLOR_TYPE_RGB, std::vector<uint8_t>(3 * 4 * 4, 1));
  ASSERT_TRUE(decode_image(rgb, img, err)) << err;
  EXPECT_FALSE(decode_image(std::span(rgb.data(), rgb.size() - 16), img, err));
  EXPECT_NE(err.find("PNG: "), std::string::npos) << err;
  // IHDR claiming 20000 x 1 (above the side cap): patch the width and fix the chunk CRC.
  std::vector<uint8_t> wide = encode_png(1, 1, 8, PNG_COLOR_TYPE_GRAY, {0});
  wide[16] = 0;
  wide[17] = 0;
  wide[18] = 0x4E;
  wide[19] = 0x20;
  const uint32_t crc = static_cast<uint32_t>(crc32(0, wide.data() + 12, 17));
  for (int i = 0; i < 4; ++i) wide[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  EXPECT_FALSE(decode_image(wide, img, err));
}

TEST(ImageIo, Pgm) {
  Image img;
  std::string err;
  std::vector<uint8_t> f = bytes_of("P5\n# comment\n3 2\n255\n");
  f.insert(f.end(), {1, 2, 3, 4, 5, 6});
  ASSERT_TRUE(decode_image(f, img, err)) << err;
  EXPECT_EQ(img.width, 3u);
  EXPECT_EQ(img.bytes()[5], 6);
  f = bytes_of("P5 2 1 65535\n");
  f.insert(f.end(), {0x12, 0x34, 0xAB, 0xCD});
  ASSERT_TRUE(decode_image(f, img, err)) << err;
  EXPECT_EQ(img.pixel, uint32_t(TRIAGE_PIXEL_U16));
  EXPECT_EQ(img.storage[0], 0x1234);
  EXPECT_EQ(img.storage[1], 0xABCD);
  for (const char* bad : {"P5\n3 2\n0\n", "P5\n3 2\n70000\n", "P5\n99999999 2\n255\n", "P5\n20000 20000\n255\n",
                          "P5\n3 2\n255\nab", "P5\n3", "P5\n0 2\n255\n", "P5\nx 2\n255\n"}) {
    EXPECT_FALSE(decode_image(bytes_of(bad), img, err)) << bad;
    EXPECT_FALSE(err.empty());
  }
}

// Found by fuzz_image: a message quoting file bytes (an NPY shape or dtype) could hold a newline or
// control characters, or grow with the header; messages are one printable line of bounded length.
TEST(ImageIo, ErrorMessagesQuotingTheFileStayOneShortLine) {
  Image img;
  std::string err;
  EXPECT_FALSE(decode_image(npy("|u1", "(2,\n 3\r\x01, 9, 9, 9)", {1, 2, 3, 4, 5, 6}), img, err));
  EXPECT_NE(err.find("NPY"), std::string::npos) << err;
  for (char c : err) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << err;
  EXPECT_FALSE(decode_image(npy("<f8" + std::string(5000, '\n'), "(2, 3)", {1, 2, 3, 4, 5, 6}), img, err));
  EXPECT_LE(err.size(), 243u);
  EXPECT_EQ(err.find('\n'), std::string::npos);
}

TEST(ImageIo, Npy) {
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(npy("|u1", "(2, 3)", {1, 2, 3, 4, 5, 6}), img, err)) << err;
  EXPECT_EQ(img.height, 2u);
  EXPECT_EQ(img.width, 3u);
  EXPECT_EQ(img.channels, 1u);
  ASSERT_TRUE(decode_image(npy("<u2", "(1, 2, 2)", {1, 0, 2, 0, 3, 0, 4, 1}), img, err)) << err;
  EXPECT_EQ(img.channels, 2u);
  EXPECT_EQ(img.storage[3], 0x104);
  ASSERT_TRUE(decode_image(npy(">u2", "(1, 1)", {0x12, 0x34}), img, err)) << err;
  EXPECT_EQ(img.storage[0], 0x1234);
  // Fortran order (numpy writes it for transposed arrays): stored column by column.
  ASSERT_TRUE(decode_image(npy("|u1", "(2, 3)", {1, 4, 2, 5, 3, 6}, true), img, err)) << err;
  const uint8_t rows[] = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(0, std::memcmp(img.bytes(), rows, 6));
  ASSERT_TRUE(decode_image(npy("<u2", "(2, 1, 2)", {1, 0, 2, 0, 3, 0, 4, 0}, true), img, err)) << err;
  EXPECT_EQ(img.storage[0], 1);  // (0,0,0)
  EXPECT_EQ(img.storage[1], 3);  // (0,0,1) at 0 + 2 * (0 + 1 * 1)
  EXPECT_EQ(img.storage[2], 2);  // (1,0,0)
  EXPECT_EQ(img.storage[3], 4);

  struct Bad {
    std::vector<uint8_t> f;
    const char* what;
  };
  std::vector<Bad> bad = {
      {npy("<f4", "(1, 1)", {0, 0, 0, 0}), "float dtype"},
      {npy("|u1", "(2, 3)", {1, 2, 3}), "short data"},
      {npy("|u1", "(2, 3)", {1, 2, 3, 4, 5, 6, 7}), "long data"},
      {npy("|u1", "(6,)", {1, 2, 3, 4, 5, 6}), "1-D"},
      {npy("|u1", "(1, 1, 1, 6)", {1, 2, 3, 4, 5, 6}), "4-D"},
      {npy("|u1", "(20000, 20000)", {}), "huge dims"},
      {npy("|u1", "(99999999999, 1)", {}), "overlong number"},
      {npy("|u1", "(1, 1, 9)", std::vector<uint8_t>(9)), "9 channels"},
      {npy("|u1", "2, 3", {1, 2, 3, 4, 5, 6}), "shape without parentheses"},
  };
  std::vector<uint8_t> f = npy("|u1", "(1, 1)", {7});
  f[8] = 0xFF;  // header length past the end
  bad.push_back({f, "header length"});
  f = npy("|u1", "(1, 1)", {7});
  f[6] = 9;
  bad.push_back({f, "version"});
  f = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0, 0x10};  // v2 header length 256 MiB: above the cap
  bad.push_back({f, "header cap"});
  for (const Bad& b : bad) {
    EXPECT_FALSE(decode_image(b.f, img, err)) << b.what;
    EXPECT_FALSE(err.empty()) << b.what;
  }
}

TEST(ImageIo, MutatedFilesNeverCrash) {
  std::vector<uint8_t> px(16 * 16);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i);
  const std::vector<std::vector<uint8_t>> seeds = {encode_png(16, 16, 8, PNG_COLOR_TYPE_GRAY, px),
                                                   npy("|u1", "(16, 16)", px), [&] {
                                                     std::vector<uint8_t> f = bytes_of("P5\n16 16\n255\n");
                                                     f.insert(f.end(), px.begin(), px.end());
                                                     return f;
                                                   }()};
  std::mt19937 rng(5);
  int decoded = 0;
  for (int it = 0; it < 3000; ++it) {
    std::vector<uint8_t> f = seeds[it % seeds.size()];
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % f.size();
      switch (rng() % 3) {
        case 0: f[at] = static_cast<uint8_t>(rng()); break;
        case 1: f.resize(at + 1); break;
        default: f.insert(f.begin() + at, static_cast<uint8_t>(rng())); break;
      }
    }
    Image img;
    std::string err;
    if (decode_image(f, img, err)) {
      ++decoded;
      EXPECT_LE(img.width, TRIAGE_MAX_IMAGE_SIDE);
      EXPECT_LE(img.height, TRIAGE_MAX_IMAGE_SIDE);
      EXPECT_GE(img.storage.size() * 2, img.row_stride * img.height);
    } else {
      EXPECT_FALSE(err.empty());
    }
  }
  std::printf("[ mutated ] %d of 3000 mutated files still decoded\n", decoded);
}

TEST(ImageIo, ReadImageErrors) {
  Image img;
  std::string err;
  EXPECT_FALSE(read_image("/nonexistent/x.png", img, err));
  EXPECT_NE(err.find("cannot open"), std::string::npos);
  EXPECT_TRUE(is_image_name("a/b.PNG"));
  EXPECT_TRUE(is_image_name("x.npy"));
  EXPECT_TRUE(is_image_name("x.jpg"));
  EXPECT_TRUE(is_image_name("x.Tif"));
  EXPECT_FALSE(is_image_name("x.txt"));
  EXPECT_FALSE(is_image_name("npy"));
}

}  // namespace
}  // namespace triage::cli
