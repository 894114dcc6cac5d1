// A PNG writer for the image-reader tests: any bit depth, colour type, palette (+ tRNS) and Adam7
// interlacing, written with libpng itself so the readers are checked against the format's own library.
#pragma once
#include <png.h>

#include <cstdint>
#include <vector>

namespace triage::cli {

struct PngSpec {
  uint32_t w = 0, h = 0;
  int depth = 8, color = PNG_COLOR_TYPE_GRAY;
  bool interlace = false;
  std::vector<png_color> palette;
  std::vector<png_byte> trns;  // palette alpha
};

// rows: the file's row bytes (16-bit samples big-endian, as PNG stores them).
inline std::vector<uint8_t> write_png(const PngSpec& s, const std::vector<uint8_t>& rows) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return {};
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep d, png_size_t n) {
        auto* o = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(p));
        o->insert(o->end(), d, d + n);
      },
      nullptr);
  png_set_IHDR(png, info, s.w, s.h, s.depth, s.color, s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!s.palette.empty()) png_set_PLTE(png, info, s.palette.data(), static_cast<int>(s.palette.size()));
  if (!s.trns.empty()) png_set_tRNS(png, info, s.trns.data(), static_cast<int>(s.trns.size()), nullptr);
  png_write_info(png, info);
  const size_t row = png_get_rowbytes(png, info);
  std::vector<png_bytep> ptrs(s.h);
  for (uint32_t y = 0; y < s.h; ++y) ptrs[y] = const_cast<png_bytep>(rows.data() + y * row);
  png_write_image(png, ptrs.data());  // runs the Adam7 passes when interlaced
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

}  // namespace triage::cli
