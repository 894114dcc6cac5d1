// Colour PNG, JPEG and TIFF readers and the channel rule (tools/cli/image_*.cpp). Every image is written
// here with the format's own library (libpng, libjpeg, libtiff) and the decoded samples are checked:
// exactly for PNG and TIFF; for JPEG exactly against libjpeg decoding the same file with its defaults,
// and within a stated tolerance of the source. Malformed files (truncated, bad headers, over-cap or zero
// dimensions, too many pages, page cycles) are each refused with a message, never a crash, and nothing
// is printed on stderr.
#include <gtest/gtest.h>
#include <png.h>
#include <tiffio.h>
#include <unistd.h>

#include <cstdio>  // before jpeglib.h
#include <jpeglib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tests/runtime/png_writer.h"
#include "tools/cli/image_io.h"

namespace triage::cli {
namespace {

// ---- writers ----------------------------------------------------------------------------------

// Big-endian bytes of 16-bit samples.
std::vector<uint8_t> be16(const std::vector<uint16_t>& v) {
  std::vector<uint8_t> b(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    b[2 * i] = static_cast<uint8_t>(v[i] >> 8);
    b[2 * i + 1] = static_cast<uint8_t>(v[i]);
  }
  return b;
}

struct JpegSpec {
  uint32_t w = 0, h = 0;
  int components = 1;  // 1 gray, 3 RGB, 4 CMYK
  int quality = 90;
  bool progressive = false;
  bool full_chroma = false;  // 4:4:4 instead of libjpeg's default 4:2:0
  std::vector<jpeg_scan_info> scans = {};  // a progressive scan script (instead of jpeg_simple_progression)
};

// A valid progressive script for one component: DC, then every AC coefficient as its own band, each
// sent at Al = al then refined bit by bit: 1 + al scans per band, (1 + al) * 64 scans in all.
std::vector<jpeg_scan_info> many_scans(int al) {
  std::vector<jpeg_scan_info> v;
  auto add = [&](int ss, int se, int ah, int a) {
    jpeg_scan_info si{};
    si.comps_in_scan = 1;
    si.component_index[0] = 0;
    si.Ss = ss;
    si.Se = se;
    si.Ah = ah;
    si.Al = a;
    v.push_back(si);
  };
  for (int band = 0; band < 64; ++band) {
    add(band, band, 0, al);
    for (int k = al; k > 0; --k) add(band, band, k, k - 1);
  }
  return v;
}

std::vector<uint8_t> write_jpeg(const JpegSpec& s, const std::vector<uint8_t>& px) {
  jpeg_compress_struct c;
  jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = s.w;
  c.image_height = s.h;
  c.input_components = s.components;
  c.in_color_space = s.components == 1 ? JCS_GRAYSCALE : s.components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, s.quality, TRUE);
  if (s.full_chroma && s.components == 3) c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1;
  if (s.progressive) jpeg_simple_progression(&c);
  if (!s.scans.empty()) {
    c.scan_info = s.scans.data();
    c.num_scans = static_cast<int>(s.scans.size());
  }
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < s.h) {
    JSAMPROW row = const_cast<JSAMPROW>(px.data() + size_t(c.next_scanline) * s.w * s.components);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::vector<uint8_t> out(buf, buf + size);
  std::free(buf);
  return out;
}

// libjpeg's own decode of a file, with its defaults (the reference for decode_jpeg).
std::vector<uint8_t> libjpeg_decode(const std::vector<uint8_t>& file, int components) {
  jpeg_decompress_struct d;
  jpeg_error_mgr e;
  d.err = jpeg_std_error(&e);
  jpeg_create_decompress(&d);
  jpeg_mem_src(&d, file.data(), file.size());
  jpeg_read_header(&d, TRUE);
  d.out_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&d);
  std::vector<uint8_t> out(size_t(d.output_width) * d.output_height * d.output_components);
  while (d.output_scanline < d.output_height) {
    JSAMPROW row = out.data() + size_t(d.output_scanline) * d.output_width * d.output_components;
    jpeg_read_scanlines(&d, &row, 1);
  }
  jpeg_finish_decompress(&d);
  jpeg_destroy_decompress(&d);
  return out;
}

struct TiffPage {
  uint32_t w = 0, h = 0;
  uint16_t spp = 1, bps = 8;
  uint16_t photometric = PHOTOMETRIC_MINISBLACK;
  uint16_t planar = PLANARCONFIG_CONTIG;
  uint16_t compression = COMPRESSION_NONE;
  uint32_t tile = 0;            // tile side (a multiple of 16); 0: strips
  uint32_t rows_per_strip = 0;  // 0: one strip per 3 rows
  std::vector<uint16_t> samples;  // h * w * spp, interleaved
};

// A fresh file name (ctest runs the tests of this program in parallel processes).
std::string temp_path(const std::string& suffix) {
  std::string p = (std::filesystem::path(testing::TempDir()) / "triage_img_XXXXXX").string();
  const int fd = ::mkstemp(p.data());
  if (fd >= 0) ::close(fd);
  std::remove(p.c_str());
  return p + suffix;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One block's bytes: a strip (bw = width) or a tile, of one plane when planar, zero padded past the edge.
std::vector<uint8_t> tiff_block(const TiffPage& p, uint32_t bx, uint32_t by, uint32_t bw, uint32_t bh, uint16_t plane) {
  const uint32_t per = p.planar == PLANARCONFIG_SEPARATE ? 1 : p.spp, bytes = p.bps / 8;
  std::vector<uint8_t> b(size_t(bw) * bh * per * bytes, 0);
  for (uint32_t r = 0; r < bh && by + r < p.h; ++r)
    for (uint32_t x = 0; x < bw && bx + x < p.w; ++x)
      for (uint32_t c = 0; c < per; ++c) {
        const uint32_t ch = p.planar == PLANARCONFIG_SEPARATE ? plane : c;
        const uint16_t v = p.samples[(size_t(by + r) * p.w + bx + x) * p.spp + ch];
        uint8_t* d = b.data() + ((size_t(r) * bw + x) * per + c) * bytes;
        if (bytes == 1) *d = static_cast<uint8_t>(v);
        else std::memcpy(d, &v, 2);  // native order: libtiff writes the file in host order
      }
  return b;
}

// mode: "w" classic TIFF, "w8" BigTIFF.
std::vector<uint8_t> write_tiff(const std::vector<TiffPage>& pages, const char* mode = "w") {
  const std::string path = temp_path(".tif");
  TIFF* t = TIFFOpen(path.c_str(), mode);
  if (!t) return {};
  for (const TiffPage& p : pages) {
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, p.w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, p.h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, p.spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, p.bps);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, p.planar);
    TIFFSetField(t, TIFFTAG_COMPRESSION, p.compression);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, p.photometric);
    if (p.compression == COMPRESSION_JPEG) {
      TIFFSetField(t, TIFFTAG_JPEGQUALITY, 95);
      if (p.photometric == PHOTOMETRIC_YCBCR) TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    if (p.spp == 2 || p.spp == 4) {
      const uint16_t extra = EXTRASAMPLE_UNASSALPHA;
      TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    const uint16_t planes = p.planar == PLANARCONFIG_SEPARATE ? p.spp : 1;
    if (p.tile) {
      TIFFSetField(t, TIFFTAG_TILEWIDTH, p.tile);
      TIFFSetField(t, TIFFTAG_TILELENGTH, p.tile);
      for (uint16_t pl = 0; pl < planes; ++pl)
        for (uint32_t y = 0; y < p.h; y += p.tile)
          for (uint32_t x = 0; x < p.w; x += p.tile) {
            std::vector<uint8_t> b = tiff_block(p, x, y, p.tile, p.tile, pl);
            TIFFWriteEncodedTile(t, TIFFComputeTile(t, x, y, 0, pl), b.data(), static_cast<tmsize_t>(b.size()));
          }
    } else {
      const uint32_t rps = p.rows_per_strip ? p.rows_per_strip : 3;
      TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps);
      for (uint16_t pl = 0; pl < planes; ++pl)
        for (uint32_t y = 0; y < p.h; y += rps) {
          const uint32_t rows = std::min(rps, p.h - y);
          std::vector<uint8_t> b = tiff_block(p, 0, y, p.w, rows, pl);
          TIFFWriteEncodedStrip(t, TIFFComputeStrip(t, y, pl), b.data(), static_cast<tmsize_t>(b.size()));
        }
    }
    TIFFWriteDirectory(t);
  }
  TIFFClose(t);
  std::vector<uint8_t> f = file_bytes(path);
  std::remove(path.c_str());
  return f;
}

std::vector<uint16_t> ramp(size_t n, uint32_t mul, uint32_t add, uint32_t mod) {
  std::vector<uint16_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint16_t>((i * mul + add) % mod);
  return v;
}

TiffPage page(uint32_t w, uint32_t h, uint16_t spp, uint16_t bps, uint16_t photometric, uint32_t seed) {
  TiffPage p;
  p.w = w;
  p.h = h;
  p.spp = spp;
  p.bps = bps;
  p.photometric = photometric;
  p.samples = ramp(size_t(w) * h * spp, 977 + seed, seed * 13, bps == 16 ? 65536 : 256);
  return p;
}

// Decoded samples of img as values, row by row (no padding).
std::vector<uint16_t> samples_of(const Image& img) {
  std::vector<uint16_t> v;
  for (uint32_t y = 0; y < img.height; ++y)
    for (size_t x = 0; x < size_t(img.width) * img.channels; ++x) {
      if (img.pixel == TRIAGE_PIXEL_U16) v.push_back(img.storage[(y * img.row_stride) / 2 + x]);
      else v.push_back(img.bytes()[y * img.row_stride + x]);
    }
  return v;
}

// Classic little-endian TIFF, first directory: sets an inline SHORT or LONG tag value.
bool patch_tag(std::vector<uint8_t>& f, uint16_t tag, uint32_t value) {
  if (f.size() < 8 || f[0] != 'I') return false;
  uint32_t ifd;
  std::memcpy(&ifd, f.data() + 4, 4);
  uint16_t n;
  std::memcpy(&n, f.data() + ifd, 2);
  for (uint16_t i = 0; i < n; ++i) {
    uint8_t* e = f.data() + ifd + 2 + 12 * i;
    uint16_t t, type;
    std::memcpy(&t, e, 2);
    std::memcpy(&type, e + 2, 2);
    if (t != tag) continue;
    if (type == TIFF_SHORT && value <= 0xFFFF) {
      const uint16_t v16 = static_cast<uint16_t>(value);
      std::memcpy(e + 8, &v16, 2);
    } else {  // as a LONG (count 1: the value stays inline)
      const uint16_t long_type = TIFF_LONG;
      std::memcpy(e + 2, &long_type, 2);
      std::memcpy(e + 8, &value, 4);
    }
    return true;
  }
  return false;
}

// Captures stderr for a scope (decoders must print nothing); released even when an ASSERT returns early.
class StderrCapture {
 public:
  StderrCapture() { testing::internal::CaptureStderr(); }
  ~StderrCapture() {
    if (!done_) testing::internal::GetCapturedStderr();
  }
  std::string text() {
    done_ = true;
    return testing::internal::GetCapturedStderr();
  }

 private:
  bool done_ = false;
};

// ---- PNG ----------------------------------------------------------------------------------------

TEST(ImageFormats, PngColourTypesAndDepths) {
  struct Case {
    int color, depth;
    uint32_t channels;
    Channels meaning;
  };
  const Case cases[] = {{PNG_COLOR_TYPE_GRAY_ALPHA, 8, 2, Channels::gray_alpha},
                        {PNG_COLOR_TYPE_RGB, 8, 3, Channels::rgb},
                        {PNG_COLOR_TYPE_RGBA, 8, 4, Channels::rgba},
                        {PNG_COLOR_TYPE_GRAY_ALPHA, 16, 2, Channels::gray_alpha},
                        {PNG_COLOR_TYPE_RGB, 16, 3, Channels::rgb},
                        {PNG_COLOR_TYPE_RGBA, 16, 4, Channels::rgba}};
  for (const Case& c : cases) {
    for (bool interlace : {false, true}) {
      SCOPED_TRACE(std::to_string(c.color) + "/" + std::to_string(c.depth) + (interlace ? " interlaced" : ""));
      const uint32_t w = 13, h = 11;
      const std::vector<uint16_t> v = ramp(size_t(w) * h * c.channels, 7919, 3, c.depth == 16 ? 65536 : 256);
      std::vector<uint8_t> rows;
      if (c.depth == 16) rows = be16(v);
      else rows.assign(v.begin(), v.end());
      PngSpec s;
      s.w = w;
      s.h = h;
      s.depth = c.depth;
      s.color = c.color;
      s.interlace = interlace;
      Image img;
      std::string err;
      ASSERT_TRUE(decode_image(write_png(s, rows), img, err)) << err;
      EXPECT_EQ(img.channels, c.channels);
      EXPECT_EQ(img.meaning, c.meaning);
      EXPECT_EQ(img.pixel, uint32_t(c.depth == 16 ? TRIAGE_PIXEL_U16 : TRIAGE_PIXEL_U8));
      EXPECT_EQ(samples_of(img), v);
    }
  }
}

TEST(ImageFormats, PngInterlacedGrayAndLowDepth) {
  std::vector<uint16_t> v = ramp(9 * 7, 31, 0, 256);
  PngSpec s;
  s.w = 9;
  s.h = 7;
  s.interlace = true;
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(write_png(s, std::vector<uint8_t>(v.begin(), v.end())), img, err)) << err;
  EXPECT_EQ(samples_of(img), v);
  // 2-bit gray, interlaced: values kept raw (0..3), as for non-interlaced files.
  s.depth = 2;
  const uint8_t packed[7 * 3] = {0b00011011, 0b11100100, 0b01000000};  // row 0: 0 1 2 3 3 2 1 0 1
  std::vector<uint8_t> rows(packed, packed + sizeof packed);
  for (int y = 1; y < 7; ++y) std::memcpy(rows.data() + 3 * y, packed, 3);
  ASSERT_TRUE(decode_image(write_png(s, rows), img, err)) << err;
  const uint8_t want[9] = {0, 1, 2, 3, 3, 2, 1, 0, 1};
  for (uint32_t y = 0; y < 7; ++y) EXPECT_EQ(0, std::memcmp(img.bytes() + y * img.row_stride, want, 9)) << y;
}

TEST(ImageFormats, PngPalette) {
  PngSpec s;
  s.w = 5;
  s.h = 2;
  s.color = PNG_COLOR_TYPE_PALETTE;
  s.palette = {{10, 20, 30}, {200, 100, 0}, {1, 2, 3}};
  const std::vector<uint8_t> idx = {0, 1, 2, 1, 0, 2, 2, 1, 0, 0};
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(write_png(s, idx), img, err)) << err;
  EXPECT_EQ(img.channels, 3u);
  EXPECT_EQ(img.meaning, Channels::rgb);
  std::vector<uint16_t> want;
  for (uint8_t i : idx) want.insert(want.end(), {s.palette[i].red, s.palette[i].green, s.palette[i].blue});
  EXPECT_EQ(samples_of(img), want);
  // 4-bit palette with transparency: RGBA, alpha from tRNS (255 past its end).
  s.depth = 4;
  s.trns = {0, 128};
  s.interlace = true;
  const std::vector<uint8_t> packed = {0x01, 0x21, 0x00, 0x22, 0x10, 0x00};  // 5 indexes a row, 3 bytes
  ASSERT_TRUE(decode_image(write_png(s, packed), img, err)) << err;
  EXPECT_EQ(img.channels, 4u);
  EXPECT_EQ(img.meaning, Channels::rgba);
  want.clear();
  for (uint8_t i : idx)
    want.insert(want.end(), {s.palette[i].red, s.palette[i].green, s.palette[i].blue, uint16_t(i < 2 ? s.trns[i] : 255)});
  EXPECT_EQ(samples_of(img), want);
}

TEST(ImageFormats, PngColourTruncatedRefused) {
  PngSpec s;
  s.w = 32;
  s.h = 32;
  s.color = PNG_COLOR_TYPE_RGBA;
  s.interlace = true;
  const std::vector<uint16_t> v = ramp(32 * 32 * 4, 101, 0, 256);
  const std::vector<uint8_t> good = write_png(s, std::vector<uint8_t>(v.begin(), v.end()));
  for (size_t cut : {size_t(30), good.size() / 3, good.size() - 12}) {
    Image img;
    std::string err;
    EXPECT_FALSE(decode_image(std::span(good.data(), cut), img, err)) << cut;
    EXPECT_NE(err.find("PNG: "), std::string::npos) << err;
  }
}

// ---- JPEG ---------------------------------------------------------------------------------------

std::vector<uint8_t> smooth_image(uint32_t w, uint32_t h, int comps) {
  std::vector<uint8_t> px(size_t(w) * h * comps);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (int c = 0; c < comps; ++c)
        px[(size_t(y) * w + x) * comps + c] =
            static_cast<uint8_t>(128 + 90 * std::sin(0.07 * x + 0.05 * y + 1.3 * c) * std::cos(0.04 * y - 0.5 * c));
  return px;
}

TEST(ImageFormats, JpegMatchesLibjpegExactlyAndTheSourceClosely) {
  // Tolerance vs the source (quality 95, smooth content): max |error| <= 10, mean <= 1.5 levels. The
  // decoder itself must match libjpeg's default decode of the same file exactly.
  for (int comps : {1, 3}) {
    for (bool progressive : {false, true}) {
      for (bool full_chroma : {false, true}) {
        if (comps == 1 && full_chroma) continue;
        SCOPED_TRACE(std::to_string(comps) + (progressive ? " progressive" : " baseline") + (full_chroma ? " 4:4:4" : ""));
        JpegSpec s;
        s.w = 45;  // not a multiple of the MCU: partial blocks at the edges
        s.h = 37;
        s.components = comps;
        s.quality = 95;
        s.progressive = progressive;
        s.full_chroma = full_chroma;
        const std::vector<uint8_t> src = smooth_image(s.w, s.h, comps);
        const std::vector<uint8_t> file = write_jpeg(s, src);
        Image img;
        std::string err;
        ASSERT_TRUE(decode_image(file, img, err)) << err;
        ASSERT_EQ(img.width, s.w);
        ASSERT_EQ(img.height, s.h);
        ASSERT_EQ(img.channels, uint32_t(comps));
        EXPECT_EQ(img.meaning, comps == 1 ? Channels::gray : Channels::rgb);
        EXPECT_EQ(img.pixel, uint32_t(TRIAGE_PIXEL_U8));
        const std::vector<uint8_t> ref = libjpeg_decode(file, comps);
        ASSERT_EQ(ref.size(), src.size());
        EXPECT_EQ(0, std::memcmp(img.bytes(), ref.data(), ref.size()));
        int max_err = 0;
        double sum = 0;
        for (size_t i = 0; i < src.size(); ++i) {
          const int d = std::abs(int(img.bytes()[i]) - int(src[i]));
          max_err = std::max(max_err, d);
          sum += d;
        }
        EXPECT_LE(max_err, 10);
        EXPECT_LE(sum / double(src.size()), 1.5);
      }
    }
  }
}

size_t find_sof(const std::vector<uint8_t>& f) {
  for (size_t i = 2; i + 9 < f.size(); ++i)
    if (f[i] == 0xFF && (f[i + 1] == 0xC0 || f[i + 1] == 0xC2)) return i;
  return 0;
}

TEST(ImageFormats, JpegMalformedRefused) {
  JpegSpec s;
  s.w = 40;
  s.h = 24;
  s.components = 3;
  const std::vector<uint8_t> good = write_jpeg(s, smooth_image(40, 24, 3));
  s.progressive = true;
  const std::vector<uint8_t> prog = write_jpeg(s, smooth_image(40, 24, 3));
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(good, img, err)) << err;
  ASSERT_TRUE(decode_image(prog, img, err)) << err;
  StderrCapture quiet;
  // Truncated anywhere, down to a missing EOI marker: libjpeg warns (it would pad with gray): refused.
  for (const std::vector<uint8_t>* f : {&good, &prog})
    for (size_t cut : {size_t(3), size_t(20), size_t(150), f->size() / 2, f->size() - 2}) {
      EXPECT_FALSE(decode_image(std::span(f->data(), cut), img, err)) << cut;
      EXPECT_NE(err.find("JPEG: "), std::string::npos) << err;
    }
  // Bad header: the SOF segment's height / width patched.
  const size_t sof = find_sof(good);
  ASSERT_GT(sof, 0u);
  auto patched = [&](uint16_t height, uint16_t width) {
    std::vector<uint8_t> f = good;
    f[sof + 5] = static_cast<uint8_t>(height >> 8);
    f[sof + 6] = static_cast<uint8_t>(height);
    f[sof + 7] = static_cast<uint8_t>(width >> 8);
    f[sof + 8] = static_cast<uint8_t>(width);
    return f;
  };
  EXPECT_FALSE(decode_image(patched(20000, 40), img, err));
  EXPECT_NE(err.find("side cap"), std::string::npos) << err;
  EXPECT_FALSE(decode_image(patched(24, 20000), img, err));
  EXPECT_NE(err.find("side cap"), std::string::npos) << err;
  EXPECT_FALSE(decode_image(patched(0, 40), img, err));
  EXPECT_NE(err.find("JPEG: "), std::string::npos) << err;
  EXPECT_FALSE(decode_image(patched(24, 0), img, err));
  EXPECT_NE(err.find("JPEG: "), std::string::npos) << err;
  std::vector<uint8_t> bad = good;
  bad[sof + 4] = 12;  // sample precision 12: not in this libjpeg build
  EXPECT_FALSE(decode_image(bad, img, err));
  EXPECT_NE(err.find("JPEG: "), std::string::npos) << err;
  bad = good;
  bad[sof + 9] = 2;  // 2 components: neither gray nor colour
  EXPECT_FALSE(decode_image(bad, img, err));
  EXPECT_FALSE(err.empty());
  // A progressive file with all its scans appended once more (corrupt as a progression): refused.
  const size_t sos = [&] {
    for (size_t i = 2; i + 1 < prog.size(); ++i)
      if (prog[i] == 0xFF && prog[i + 1] == 0xDA) return i;
    return size_t(0);
  }();
  ASSERT_GT(sos, 0u);
  bad.assign(prog.begin(), prog.end() - 2);
  for (int k = 0; k < 20; ++k) bad.insert(bad.end(), prog.begin() + sos, prog.end() - 2);
  bad.insert(bad.end(), {0xFF, 0xD9});
  EXPECT_FALSE(decode_image(bad, img, err));
  EXPECT_NE(err.find("JPEG: "), std::string::npos) << err;
  // The scan cap: a valid script of 64 * 8 = 512 scans is refused, one of 64 * 6 = 384 decodes exactly.
  JpegSpec g{16, 16, 1, 90, false, false, many_scans(7)};
  const std::vector<uint8_t> gray = smooth_image(16, 16, 1);
  EXPECT_FALSE(decode_image(write_jpeg(g, gray), img, err));
  EXPECT_NE(err.find("more than 500 progressive scans"), std::string::npos) << err;
  g.scans = many_scans(5);
  const std::vector<uint8_t> ok = write_jpeg(g, gray);
  ASSERT_TRUE(decode_image(ok, img, err)) << err;
  EXPECT_EQ(0, std::memcmp(img.bytes(), libjpeg_decode(ok, 1).data(), 16 * 16));
  // CMYK: refused (no conversion rule).
  s.components = 4;
  s.progressive = false;
  EXPECT_FALSE(decode_image(write_jpeg(s, std::vector<uint8_t>(40 * 24 * 4, 77)), img, err));
  EXPECT_NE(err.find("4-component"), std::string::npos) << err;
  EXPECT_EQ(quiet.text(), "");
}

// ---- TIFF ---------------------------------------------------------------------------------------

TEST(ImageFormats, TiffLayoutsExact) {
  struct Case {
    const char* what;
    TiffPage p;
    Channels meaning;
  };
  std::vector<Case> cases;
  cases.push_back({"gray8 strips", page(23, 17, 1, 8, PHOTOMETRIC_MINISBLACK, 1), Channels::gray});
  cases.push_back({"gray16 strips LZW", page(23, 17, 1, 16, PHOTOMETRIC_MINISBLACK, 2), Channels::gray});
  cases.back().p.compression = COMPRESSION_LZW;
  cases.push_back({"gray+alpha8", page(10, 9, 2, 8, PHOTOMETRIC_MINISBLACK, 3), Channels::gray_alpha});
  cases.push_back({"rgb8 contig deflate", page(19, 12, 3, 8, PHOTOMETRIC_RGB, 4), Channels::rgb});
  cases.back().p.compression = COMPRESSION_ADOBE_DEFLATE;
  cases.push_back({"rgb16 planar", page(19, 12, 3, 16, PHOTOMETRIC_RGB, 5), Channels::rgb});
  cases.back().p.planar = PLANARCONFIG_SEPARATE;
  cases.push_back({"rgba8 packbits", page(8, 8, 4, 8, PHOTOMETRIC_RGB, 6), Channels::rgba});
  cases.back().p.compression = COMPRESSION_PACKBITS;
  cases.push_back({"gray16 tiles (edge tiles)", page(40, 35, 1, 16, PHOTOMETRIC_MINISBLACK, 7), Channels::gray});
  cases.back().p.tile = 16;
  cases.push_back({"rgb8 tiles planar LZW", page(33, 18, 3, 8, PHOTOMETRIC_RGB, 8), Channels::rgb});
  cases.back().p.tile = 16;
  cases.back().p.planar = PLANARCONFIG_SEPARATE;
  cases.back().p.compression = COMPRESSION_LZW;
  cases.push_back({"rgba16 tiles", page(20, 20, 4, 16, PHOTOMETRIC_RGB, 9), Channels::rgba});
  cases.back().p.tile = 16;
  cases.push_back({"gray8 one strip", page(30, 30, 1, 8, PHOTOMETRIC_MINISBLACK, 10), Channels::gray});
  cases.back().p.rows_per_strip = 30;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    for (const char* mode : {"w", "w8"}) {  // classic and BigTIFF
      const std::vector<uint8_t> f = write_tiff({c.p}, mode);
      ASSERT_FALSE(f.empty());
      Image img;
      std::string err;
      ASSERT_TRUE(decode_image(f, img, err)) << err;
      EXPECT_EQ(img.width, c.p.w);
      EXPECT_EQ(img.height, c.p.h);
      EXPECT_EQ(img.channels, c.p.spp);
      EXPECT_EQ(img.meaning, c.meaning);
      EXPECT_EQ(img.pixel, uint32_t(c.p.bps == 16 ? TRIAGE_PIXEL_U16 : TRIAGE_PIXEL_U8));
      EXPECT_EQ(samples_of(img), c.p.samples);
    }
  }
}

TEST(ImageFormats, TiffMinIsWhiteInverted) {
  for (uint16_t bps : {uint16_t(8), uint16_t(16)}) {
    TiffPage p = page(7, 5, 2, bps, PHOTOMETRIC_MINISWHITE, 11);  // gray + alpha: only gray is inverted
    Image img;
    std::string err;
    ASSERT_TRUE(decode_image(write_tiff({p}), img, err)) << err;
    std::vector<uint16_t> want = p.samples;
    for (size_t i = 0; i < want.size(); i += 2) want[i] = static_cast<uint16_t>((bps == 16 ? 65535 : 255) - want[i]);
    EXPECT_EQ(samples_of(img), want) << bps;
  }
}

TEST(ImageFormats, TiffJpegYCbCrDecodesToRgb) {
  ASSERT_TRUE(TIFFIsCODECConfigured(COMPRESSION_JPEG)) << "Debian's libtiff has the JPEG codec";
  TiffPage p;
  p.w = 48;
  p.h = 32;
  p.spp = 3;
  p.photometric = PHOTOMETRIC_YCBCR;
  p.compression = COMPRESSION_JPEG;
  p.rows_per_strip = 16;
  const std::vector<uint8_t> src = smooth_image(48, 32, 3);
  p.samples.assign(src.begin(), src.end());
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(write_tiff({p}), img, err)) << err;
  EXPECT_EQ(img.channels, 3u);
  EXPECT_EQ(img.meaning, Channels::rgb);
  int max_err = 0;
  for (size_t i = 0; i < src.size(); ++i) max_err = std::max(max_err, std::abs(int(img.bytes()[i]) - int(src[i])));
  EXPECT_LE(max_err, 12);  // quality 95, 4:2:0 chroma
}

TEST(ImageFormats, TiffPagesSelectAndStack) {
  std::vector<TiffPage> pages;
  for (uint32_t i = 0; i < 3; ++i) pages.push_back(page(12, 10, 1, 16, PHOTOMETRIC_MINISBLACK, 20 + i));
  pages.push_back(page(12, 10, 3, 8, PHOTOMETRIC_RGB, 30));   // page 3: RGB
  pages.push_back(page(6, 10, 1, 16, PHOTOMETRIC_MINISBLACK, 31));  // page 4: other size
  pages.push_back(page(12, 10, 1, 8, PHOTOMETRIC_MINISBLACK, 32));  // page 5: other depth
  const std::vector<uint8_t> f = write_tiff(pages);
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(f, img, err)) << err;  // no selection: page 0
  EXPECT_EQ(samples_of(img), pages[0].samples);
  const uint32_t two[] = {2};
  ASSERT_TRUE(decode_image(f, img, err, two)) << err;
  EXPECT_EQ(samples_of(img), pages[2].samples);
  EXPECT_EQ(img.meaning, Channels::gray);
  const uint32_t rgb[] = {3};
  ASSERT_TRUE(decode_image(f, img, err, rgb)) << err;  // one page: as stored
  EXPECT_EQ(img.channels, 3u);
  EXPECT_EQ(samples_of(img), pages[3].samples);
  const uint32_t stack[] = {2, 0, 1};
  ASSERT_TRUE(decode_image(f, img, err, stack)) << err;
  EXPECT_EQ(img.channels, 3u);
  EXPECT_EQ(img.meaning, Channels::planes);
  EXPECT_EQ(img.pixel, uint32_t(TRIAGE_PIXEL_U16));
  std::vector<uint16_t> want;
  for (size_t i = 0; i < 12 * 10; ++i)
    for (uint32_t p : stack) want.push_back(pages[p].samples[i]);
  EXPECT_EQ(samples_of(img), want);
  const uint32_t twice[] = {1, 1};
  ASSERT_TRUE(decode_image(f, img, err, twice)) << err;
  EXPECT_EQ(img.channels, 2u);

  struct Bad {
    std::vector<uint32_t> sel;
    const char* needle;
  };
  const Bad bad[] = {{{0, 6}, "page 6 selected, the file has 6"},
                     {{9}, "page 9"},
                     {{0, 3}, "samples per pixel"},
                     {{0, 4}, "differs"},
                     {{0, 5}, "differs"},
                     {{0, 1, 2, 0, 1}, "at most 4"}};
  for (const Bad& b : bad) {
    EXPECT_FALSE(decode_image(f, img, err, b.sel)) << b.needle;
    EXPECT_NE(err.find(b.needle), std::string::npos) << err;
    EXPECT_EQ(err.rfind("TIFF: ", 0), 0u) << err;
  }
  // Pages name TIFF pages only.
  EXPECT_FALSE(decode_image(write_jpeg({8, 8, 1, 90, false, false}, std::vector<uint8_t>(64, 5)), img, err, two));
  EXPECT_NE(err.find("TIFF"), std::string::npos) << err;
}

TEST(ImageFormats, TiffMalformedRefused) {
  StderrCapture quiet;
  const TiffPage p = page(16, 12, 1, 8, PHOTOMETRIC_MINISBLACK, 40);
  const std::vector<uint8_t> good = write_tiff({p});
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(good, img, err)) << err;
  // Truncated: header, inside the pixel data, inside the directory (libtiff writes it after the data).
  for (size_t cut : {size_t(4), size_t(7), size_t(12), size_t(100), good.size() - 20, good.size() - 1}) {
    EXPECT_FALSE(decode_image(std::span(good.data(), cut), img, err)) << cut;
    EXPECT_EQ(err.rfind("TIFF: ", 0), 0u) << cut << ": " << err;
  }
  std::vector<uint8_t> f = good;
  f[4] = 0xF0;  // first directory offset past the end
  EXPECT_FALSE(decode_image(f, img, err));
  EXPECT_FALSE(err.empty());
  struct Patch {
    uint16_t tag;
    uint32_t value;
    const char* needle;
  };
  const Patch patches[] = {{TIFFTAG_IMAGEWIDTH, 20000, "side cap"},
                           {TIFFTAG_IMAGELENGTH, 70000, "side cap"},
                           {TIFFTAG_IMAGEWIDTH, 0, "TIFF: "},
                           {TIFFTAG_IMAGELENGTH, 0, "TIFF: "},
                           {TIFFTAG_BITSPERSAMPLE, 12, "12-bit"},
                           {TIFFTAG_BITSPERSAMPLE, 1, "1-bit"},
                           {TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_CIELAB, "photometric 8"},
                           {TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_SEPARATED, "photometric 5"},
                           {TIFFTAG_COMPRESSION, 7777, "TIFF: "},
                           {TIFFTAG_ROWSPERSTRIP, 1, "has no data"},  // more strips than offsets
                           {TIFFTAG_STRIPBYTECOUNTS, 100000, "TIFF: "}};  // the first of 4 counts: its offset
  for (const Patch& pt : patches) {
    f = good;
    ASSERT_TRUE(patch_tag(f, pt.tag, pt.value)) << pt.tag;
    EXPECT_FALSE(decode_image(f, img, err)) << pt.tag << " = " << pt.value;
    EXPECT_NE(err.find(pt.needle), std::string::npos) << pt.tag << ": " << err;
  }
  // A directory cycle: the first directory's next-offset points at itself.
  f = write_tiff({p, p});
  uint32_t ifd;
  std::memcpy(&ifd, f.data() + 4, 4);
  uint16_t n;
  std::memcpy(&n, f.data() + ifd, 2);
  std::memcpy(f.data() + ifd + 2 + 12 * n, &ifd, 4);
  EXPECT_FALSE(decode_image(f, img, err));
  EXPECT_NE(err.find("broken directory chain"), std::string::npos) << err;
  // Uncompressed data shorter than the image (a 1 x 1 file claiming 64 x 64).
  f = write_tiff({page(1, 1, 1, 8, PHOTOMETRIC_MINISBLACK, 42)});
  ASSERT_TRUE(patch_tag(f, TIFFTAG_IMAGEWIDTH, 64) && patch_tag(f, TIFFTAG_IMAGELENGTH, 64) &&
              patch_tag(f, TIFFTAG_ROWSPERSTRIP, 64));
  EXPECT_FALSE(decode_image(f, img, err));
  // (libtiff may first re-estimate the byte count past the end of the file)
  EXPECT_TRUE(err.find("uncompressed data holds") != std::string::npos || err.find("has no data") != std::string::npos)
      << err;
  // One strip over the decoder memory cap (16384 x 16384 RGBA 16-bit in one strip: 2 GiB).
  TiffPage big = page(1, 1, 4, 16, PHOTOMETRIC_RGB, 41);
  big.compression = COMPRESSION_ADOBE_DEFLATE;  // compressed: libtiff does not chop the strip into rows
  f = write_tiff({big});
  ASSERT_TRUE(patch_tag(f, TIFFTAG_IMAGEWIDTH, 16384));
  ASSERT_TRUE(patch_tag(f, TIFFTAG_IMAGELENGTH, 16384));
  ASSERT_TRUE(patch_tag(f, TIFFTAG_ROWSPERSTRIP, 16384));
  EXPECT_FALSE(decode_image(f, img, err));
  EXPECT_NE(err.find("memory cap"), std::string::npos) << err;
  EXPECT_EQ(quiet.text(), "");
}

TEST(ImageFormats, TiffTooManyPagesRefused) {
  const TiffPage p = page(1, 1, 1, 8, PHOTOMETRIC_MINISBLACK, 50);
  Image img;
  std::string err;
  ASSERT_TRUE(decode_image(write_tiff(std::vector<TiffPage>(kMaxTiffPages, p)), img, err)) << err;
  EXPECT_FALSE(decode_image(write_tiff(std::vector<TiffPage>(kMaxTiffPages + 1, p)), img, err));
  EXPECT_NE(err.find("more than " + std::to_string(kMaxTiffPages) + " pages"), std::string::npos) << err;
}

// ---- the channel rule ---------------------------------------------------------------------------

Image make(uint32_t w, uint32_t channels, Channels meaning, const std::vector<uint16_t>& v, bool wide) {
  Image img;
  img.width = w;
  img.height = 1;
  img.channels = channels;
  img.meaning = meaning;
  img.pixel = wide ? TRIAGE_PIXEL_U16 : TRIAGE_PIXEL_U8;
  img.row_stride = size_t(w) * channels * (wide ? 2 : 1) + 2;  // padded rows: the rule must honour the stride
  img.storage.assign((img.row_stride + 1) / 2, 0xEEEE);
  for (size_t i = 0; i < v.size(); ++i) {
    if (wide) img.storage[i] = v[i];
    else img.bytes()[i] = static_cast<uint8_t>(v[i]);
  }
  return img;
}

TEST(ImageFormats, ChannelRuleExactValues) {
  std::string err;
  // RGB -> gray: Y = (299 R + 587 G + 114 B + 500) / 1000. (0, 0, 250): 28.5 -> 29 (half up);
  // (10, 200, 30): 124.31 -> 124; (255, 255, 255) -> 255; (1, 1, 0): 0.886 -> 1.
  Image img = make(4, 3, Channels::rgb, {0, 0, 250, 10, 200, 30, 255, 255, 255, 1, 1, 0}, false);
  ASSERT_TRUE(convert_channels(img, 1, err)) << err;
  EXPECT_EQ(img.channels, 1u);
  EXPECT_EQ(img.meaning, Channels::gray);
  EXPECT_EQ(samples_of(img), (std::vector<uint16_t>{29, 124, 255, 1}));
  // 16-bit: (0, 0, 65535): 7470.99 -> 7471; (1000, 0, 0) -> 299; white stays 65535.
  img = make(3, 3, Channels::rgb, {0, 0, 65535, 1000, 0, 0, 65535, 65535, 65535}, true);
  ASSERT_TRUE(convert_channels(img, 1, err)) << err;
  EXPECT_EQ(img.pixel, uint32_t(TRIAGE_PIXEL_U16));
  EXPECT_EQ(samples_of(img), (std::vector<uint16_t>{7471, 299, 65535}));
  // RGBA -> gray: alpha ignored; RGBA -> RGB: alpha dropped.
  img = make(2, 4, Channels::rgba, {0, 0, 250, 7, 10, 200, 30, 0}, false);
  ASSERT_TRUE(convert_channels(img, 1, err)) << err;
  EXPECT_EQ(samples_of(img), (std::vector<uint16_t>{29, 124}));
  img = make(2, 4, Channels::rgba, {1, 2, 3, 4, 5, 6, 7, 8}, true);
  ASSERT_TRUE(convert_channels(img, 3, err)) << err;
  EXPECT_EQ(img.meaning, Channels::rgb);
  EXPECT_EQ(samples_of(img), (std::vector<uint16_t>{1, 2, 3, 5, 6, 7}));
  // gray -> 3 channels: replicated; gray+alpha -> 1 or 3: alpha dropped.
  img = make(3, 1, Channels::gray, {9, 200, 65000}, true);
  ASSERT_TRUE(convert_channels(img, 3, err)) << err;
  EXPECT_EQ(samples_of(img), (std::vector<uint16_t>{9, 9, 9, 200, 200, 200, 65000, 65000, 65000}));
  img = make(2, 2, Channels::gray_alpha, {40, 1, 50, 2}, false);
  ASSERT_TRUE(convert_channels(img, 1, err)) << err;
  EXPECT_EQ(samples_of(img), (std::vector<uint16_t>{40, 50}));
  img = make(2, 2, Channels::gray_alpha, {40, 1, 50, 2}, false);
  ASSERT_TRUE(convert_channels(img, 3, err)) << err;
  EXPECT_EQ(samples_of(img), (std::vector<uint16_t>{40, 40, 40, 50, 50, 50}));
  // Equal counts: unchanged, planes included.
  img = make(2, 2, Channels::planes, {1, 2, 3, 4}, false);
  ASSERT_TRUE(convert_channels(img, 2, err)) << err;
  EXPECT_EQ(img.meaning, Channels::planes);
  EXPECT_EQ(samples_of(img), (std::vector<uint16_t>{1, 2, 3, 4}));
  // Gray replicated to RGB and back through luma is the identity (299 + 587 + 114 = 1000).
  std::vector<uint16_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint16_t>(i);
  img = make(256, 1, Channels::gray, all, false);
  ASSERT_TRUE(convert_channels(img, 3, err) && convert_channels(img, 1, err)) << err;
  EXPECT_EQ(samples_of(img), all);
}

TEST(ImageFormats, ChannelRuleRefusals) {
  struct Bad {
    uint32_t channels;
    Channels meaning;
    uint32_t want;
  };
  const Bad bad[] = {{2, Channels::planes, 1}, {3, Channels::planes, 1}, {1, Channels::gray, 3 + 1},
                     {1, Channels::gray, 2},   {3, Channels::rgb, 4},    {3, Channels::rgb, 2},
                     {4, Channels::rgba, 2},   {2, Channels::gray_alpha, 4}, {1, Channels::gray, 0},
                     {1, Channels::gray, 5}};
  for (const Bad& b : bad) {
    Image img = make(2, b.channels, b.meaning, std::vector<uint16_t>(2 * b.channels, 3), false);
    std::string err;
    EXPECT_FALSE(convert_channels(img, b.want, err)) << b.channels << " -> " << b.want;
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(err.find('\n'), std::string::npos);
    EXPECT_EQ(img.channels, b.channels);  // left as it was
  }
}

// A decoded colour file of a gray picture (R = G = B) converts to exactly the gray picture: what a
// 1-channel model sees from a colour export of its own input.
TEST(ImageFormats, ColourFilesOfGrayConvertToTheGrayValues) {
  const std::vector<uint16_t> gray = ramp(20 * 15, 37, 5, 256);
  std::vector<uint16_t> rgb;
  for (uint16_t v : gray) rgb.insert(rgb.end(), {v, v, v});
  PngSpec s;
  s.w = 20;
  s.h = 15;
  s.color = PNG_COLOR_TYPE_RGB;
  TiffPage t = page(20, 15, 3, 8, PHOTOMETRIC_RGB, 0);
  t.samples = rgb;
  for (const std::vector<uint8_t>& f : {write_png(s, std::vector<uint8_t>(rgb.begin(), rgb.end())), write_tiff({t})}) {
    Image img;
    std::string err;
    ASSERT_TRUE(decode_image(f, img, err)) << err;
    ASSERT_TRUE(convert_channels(img, 1, err)) << err;
    EXPECT_EQ(samples_of(img), gray);
  }
}

// ---- names, pages, files ------------------------------------------------------------------------

TEST(ImageFormats, NamesPagesAndFiles) {
  for (const char* n : {"a.jpg", "a.JPEG", "b/c.tif", "x.TIFF", "y.png", "z.pgm", "w.npy"}) EXPECT_TRUE(is_image_name(n)) << n;
  for (const char* n : {"a.jp", "a.tiffx", "tif", "a.gif"}) EXPECT_FALSE(is_image_name(n)) << n;
  std::vector<uint32_t> pages;
  std::string err;
  ASSERT_TRUE(parse_pages("0,1,2", pages, err)) << err;
  EXPECT_EQ(pages, (std::vector<uint32_t>{0, 1, 2}));
  ASSERT_TRUE(parse_pages("7", pages, err)) << err;
  EXPECT_EQ(pages, (std::vector<uint32_t>{7}));
  for (const char* bad : {"", ",", "0,", ",1", "a", "-1", "1,,2", "0 1", "0,1,2,3,4", "256", "9999999"}) {
    EXPECT_FALSE(parse_pages(bad, pages, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  // read_image through a file, with pages.
  const std::string path = temp_path(".tiff");
  {
    const std::vector<uint8_t> f = write_tiff({page(4, 3, 1, 8, PHOTOMETRIC_MINISBLACK, 60),
                                               page(4, 3, 1, 8, PHOTOMETRIC_MINISBLACK, 61)});
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
  }
  Image img;
  const uint32_t both[] = {1, 0};
  ASSERT_TRUE(read_image(path, img, err, both)) << err;
  EXPECT_EQ(img.channels, 2u);
  std::remove(path.c_str());
}

// ---- mutations ----------------------------------------------------------------------------------

TEST(ImageFormats, MutatedFilesNeverCrashOrPrint) {
  PngSpec ps;
  ps.w = 12;
  ps.h = 12;
  ps.color = PNG_COLOR_TYPE_PALETTE;
  ps.palette = {{1, 2, 3}, {4, 5, 6}};
  ps.interlace = true;
  TiffPage tiled = page(20, 20, 3, 8, PHOTOMETRIC_RGB, 70);
  tiled.tile = 16;
  tiled.compression = COMPRESSION_LZW;
  const std::vector<std::vector<uint8_t>> seeds = {
      write_jpeg({16, 16, 3, 80, false, false}, smooth_image(16, 16, 3)),
      write_jpeg({16, 16, 1, 80, true, false}, smooth_image(16, 16, 1)),
      write_tiff({page(10, 8, 1, 16, PHOTOMETRIC_MINISBLACK, 71), page(10, 8, 1, 16, PHOTOMETRIC_MINISBLACK, 72)}),
      write_tiff({tiled}),
      write_png(ps, std::vector<uint8_t>(144, 1))};
  std::mt19937 rng(13);
  int decoded = 0;
  StderrCapture quiet;
  for (int it = 0; it < 4000; ++it) {
    std::vector<uint8_t> f = seeds[it % seeds.size()];
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % f.size();
      switch (rng() % 3) {
        case 0: f[at] = static_cast<uint8_t>(rng()); break;
        case 1: f.resize(std::max<size_t>(at + 1, 4)); break;
        default: f.insert(f.begin() + at, static_cast<uint8_t>(rng())); break;
      }
    }
    Image img;
    std::string err;
    const uint32_t two[] = {1, 0};
    const bool ok = (it / seeds.size()) % 2 ? decode_image(f, img, err, std::span<const uint32_t>(two)) : decode_image(f, img, err);
    if (ok) {
      ++decoded;
      EXPECT_LE(img.width, TRIAGE_MAX_IMAGE_SIDE);
      EXPECT_LE(img.height, TRIAGE_MAX_IMAGE_SIDE);
      EXPECT_GE(img.storage.size() * 2, img.row_stride * img.height);
    } else {
      EXPECT_FALSE(err.empty());
      EXPECT_EQ(err.find('\n'), std::string::npos);
    }
  }
  EXPECT_EQ(quiet.text(), "");
  std::printf("[ mutated ] %d of 4000 mutated files still decoded\n", decoded);
}

}  // namespace
}  // namespace triage::cli
