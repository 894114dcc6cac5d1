// PNG reader (libpng): gray 1..16-bit, gray+alpha, RGB, RGBA, palette (expanded to RGB, or RGBA when it
// has a tRNS chunk), interlaced. Samples are the stored values: no gamma, no scaling of low bit depths.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tools/cli/image_common.h"
#include "tools/cli/image_io.h"

namespace triage::cli {
namespace {

constexpr size_t kMaxPngChunkBytes = 8u << 20;

struct PngSource {
  const uint8_t* data;
  size_t size, pos;
  char message[256];
};

void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
  auto* s = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) png_error(png, "truncated PNG data");
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

void png_on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof(s->message), "%s", msg);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

// allocate() with its message copied into a plain buffer: keeps std::string out of the setjmp frame.
bool size_image(Image& out, uint32_t h, uint32_t w, uint32_t c, uint32_t pixel, char* msg, size_t cap) {
  std::string e;
  if (detail::allocate(out, h, w, c, pixel, e)) return true;
  std::snprintf(msg, cap, "%s", e.c_str());
  return false;
}

// The libpng calls. No object with a destructor lives in this frame (a longjmp leaves it from inside
// libpng); rows is written after setjmp and read after a longjmp: volatile.
bool png_decode(PngSource& src, png_structp png, png_infop info, Image& out) {
  png_bytep* volatile rows = nullptr;
  volatile bool ok = false;
  if (setjmp(png_jmpbuf(png)) == 0) {
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, TRIAGE_MAX_IMAGE_SIDE, TRIAGE_MAX_IMAGE_SIDE);
    png_set_chunk_malloc_max(png, kMaxPngChunkBytes);
    png_read_info(png, info);
    const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    const int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);  // 8-bit RGB(A)
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_packing(png);  // raw values, one byte each
    if (depth == 16 && detail::host_little_endian()) png_set_swap(png);  // PNG is big-endian
    png_set_interlace_handling(png);  // Adam7: png_read_image runs the passes over the whole image
    png_read_update_info(png, info);
    const png_byte channels = png_get_channels(png, info), out_depth = png_get_bit_depth(png, info);
    if (channels < 1 || channels > 4 || (out_depth != 8 && out_depth != 16)) {
      std::snprintf(src.message, sizeof(src.message), "unexpected PNG layout (%d channels, %d-bit)", channels, out_depth);
    } else if (size_image(out, h, w, channels, out_depth == 16 ? TRIAGE_PIXEL_U16 : TRIAGE_PIXEL_U8, src.message,
                          sizeof(src.message))) {
      static const Channels kMeaning[4] = {Channels::gray, Channels::gray_alpha, Channels::rgb, Channels::rgba};
      out.meaning = kMeaning[channels - 1];
      if (png_get_rowbytes(png, info) != out.row_stride) {
        std::snprintf(src.message, sizeof(src.message), "unexpected PNG row size");
      } else {
        rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * h));
        if (!rows) {
          std::snprintf(src.message, sizeof(src.message), "out of memory");
        } else {
          for (png_uint_32 y = 0; y < h; ++y) rows[y] = out.bytes() + static_cast<size_t>(y) * out.row_stride;
          png_read_image(png, rows);
          png_read_end(png, nullptr);
          ok = true;
        }
      }
    }
  }
  std::free(rows);
  return ok;
}

}  // namespace

bool decode_png(std::span<const uint8_t> file, Image& out, std::string& err) {
  if (file.size() < 8 || png_sig_cmp(file.data(), 0, 8) != 0) return detail::fail(err, "not a PNG file (bad signature)");
  PngSource src{file.data(), file.size(), 0, {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
  if (!png) return detail::fail(err, "libpng: cannot create a read struct");
  png_infop info = png_create_info_struct(png);
  const bool ok = info && png_decode(src, png, info, out);
  png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  if (!ok) return detail::fail(err, std::string("PNG: ") + (src.message[0] ? src.message : "cannot decode"));
  return true;
}

}  // namespace triage::cli
