// Image readers for `triage run` (see image_io.h). Sizes are checked before anything is allocated.
#include "tools/cli/image_io.h"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdio>
#include <cstring>

namespace triage::cli {
namespace {

// Messages quote bytes of the file (an NPY dtype or shape): they stay one printable line of bounded
// length whatever the file holds (found by fuzz_image: a shape with a newline broke the one-line rule).
constexpr size_t kMaxErrorChars = 240;

bool fail(std::string& err, const std::string& msg) {
  err.clear();
  for (char c : msg) {
    if (err.size() == kMaxErrorChars) {
      err += "...";
      break;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    err += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (err.empty()) err = "malformed image";
  return false;
}

// Sizes out for h x w x c samples of bps bytes, checking the side cap and overflow.
bool allocate(Image& img, uint64_t h, uint64_t w, uint64_t c, uint32_t pixel, std::string& err) {
  if (h == 0 || w == 0 || c == 0) return fail(err, "image has a zero dimension");
  if (h > TRIAGE_MAX_IMAGE_SIDE || w > TRIAGE_MAX_IMAGE_SIDE)
    return fail(err, "image " + std::to_string(h) + " x " + std::to_string(w) + " exceeds the " +
                         std::to_string(TRIAGE_MAX_IMAGE_SIDE) + " pixel side cap");
  if (c > TRIAGE_MAX_CHANNELS) return fail(err, "image has " + std::to_string(c) + " channels (at most 4)");
  const uint64_t bps = pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
  const uint64_t row = w * c * bps, total = row * h;  // <= 16384 * 4 * 2 * 16384: no overflow
  img.pixel = pixel;
  img.height = static_cast<uint32_t>(h);
  img.width = static_cast<uint32_t>(w);
  img.channels = static_cast<uint32_t>(c);
  img.row_stride = static_cast<size_t>(row);
  img.storage.assign(static_cast<size_t>((total + 1) / 2), 0);
  return true;
}

// ---- PNG ---------------------------------------------------------------------------------------
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

}  // namespace

triage_image Image::view() const {
  triage_image v{};
  v.data = storage.data();
  v.pixel = pixel;
  v.height = height;
  v.width = width;
  v.channels = channels;
  v.row_stride = row_stride;
  return v;
}

bool decode_png(std::span<const uint8_t> file, Image& out, std::string& err) {
  if (file.size() < 8 || png_sig_cmp(file.data(), 0, 8) != 0) return fail(err, "not a PNG file (bad signature)");
  PngSource src{file.data(), file.size(), 0, {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
  if (!png) return fail(err, "libpng: cannot create a read struct");
  png_infop info = png_create_info_struct(png);
  // Everything the longjmp path can see is plain data: the rows are written through a raw pointer
  // into out.storage, sized before the pixel data is read.
  // rows and ok change after setjmp and are read after a longjmp: volatile. No object with a
  // destructor lives in the scope that a longjmp leaves.
  png_bytep* volatile rows = nullptr;
  volatile bool ok = false;
  std::string aerr;
  if (info && setjmp(png_jmpbuf(png)) == 0) {
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, TRIAGE_MAX_IMAGE_SIDE, TRIAGE_MAX_IMAGE_SIDE);
    png_set_chunk_malloc_max(png, 8u << 20);
    png_read_info(png, info);
    const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    const int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if (type != PNG_COLOR_TYPE_GRAY) {
      std::snprintf(src.message, sizeof(src.message), "PNG color type %d is not supported (gray only)", type);
    } else if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) {
      std::snprintf(src.message, sizeof(src.message), "interlaced PNG is not supported");
    } else {
      if (depth < 8) png_set_packing(png);  // 1/2/4-bit gray -> one byte per pixel, raw values (no scaling)
      if (depth == 16) {
        const uint16_t one = 1;
        if (*reinterpret_cast<const uint8_t*>(&one) == 1) png_set_swap(png);  // PNG is big-endian
      }
      png_read_update_info(png, info);
      if (!allocate(out, h, w, 1, depth == 16 ? TRIAGE_PIXEL_U16 : TRIAGE_PIXEL_U8, aerr)) {
        std::snprintf(src.message, sizeof(src.message), "%s", aerr.c_str());
      } else if (png_get_rowbytes(png, info) != out.row_stride) {
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
  png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  if (!ok) return fail(err, std::string("PNG: ") + (src.message[0] ? src.message : "cannot decode"));
  return true;
}

// ---- PGM (P5) ----------------------------------------------------------------------------------
bool decode_pgm(std::span<const uint8_t> file, Image& out, std::string& err) {
  if (file.size() < 2 || file[0] != 'P' || file[1] != '5') return fail(err, "not a binary PGM file (P5)");
  size_t pos = 2;
  uint64_t vals[3] = {0, 0, 0};  // width, height, maxval
  for (int f = 0; f < 3; ++f) {
    // whitespace and comments before each field
    for (;;) {
      if (pos >= file.size() || pos > kMaxPgmHeader) return fail(err, "PGM: truncated or over-long header");
      if (file[pos] == '#') {
        while (pos < file.size() && file[pos] != '\n' && pos <= kMaxPgmHeader) ++pos;
      } else if (std::isspace(file[pos])) {
        ++pos;
      } else {
        break;
      }
    }
    if (!std::isdigit(file[pos])) return fail(err, "PGM: expected a number in the header");
    int digits = 0;
    while (pos < file.size() && std::isdigit(file[pos])) {
      if (++digits > 6) return fail(err, "PGM: header number too large");
      vals[f] = vals[f] * 10 + (file[pos++] - '0');
    }
  }
  if (pos >= file.size() || !std::isspace(file[pos])) return fail(err, "PGM: missing whitespace after maxval");
  ++pos;  // exactly one whitespace byte before the raster
  const uint64_t w = vals[0], h = vals[1], maxval = vals[2];
  if (maxval == 0 || maxval > 65535) return fail(err, "PGM: maxval " + std::to_string(maxval) + " outside 1..65535");
  const bool wide = maxval > 255;
  if (!allocate(out, h, w, 1, wide ? TRIAGE_PIXEL_U16 : TRIAGE_PIXEL_U8, err)) return fail(err, "PGM: " + err);
  const size_t need = out.row_stride * out.height;
  if (file.size() - pos < need) return fail(err, "PGM: truncated raster (" + std::to_string(file.size() - pos) +
                                                     " of " + std::to_string(need) + " bytes)");
  if (!wide) {
    std::memcpy(out.bytes(), file.data() + pos, need);
  } else {
    for (size_t i = 0; i < need / 2; ++i)  // PGM 16-bit samples are big-endian
      out.storage[i] = static_cast<uint16_t>(file[pos + 2 * i] << 8 | file[pos + 2 * i + 1]);
  }
  return true;
}

// ---- NPY ---------------------------------------------------------------------------------------
namespace {

// Value of 'key': ... in a NPY header dict (the text up to the next ',' or '}' at depth 0).
bool npy_field(const std::string& h, const std::string& key, std::string& value) {
  const std::string k1 = "'" + key + "'";
  size_t p = h.find(k1);
  if (p == std::string::npos) return false;
  p = h.find(':', p + k1.size());
  if (p == std::string::npos) return false;
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  size_t e = p;
  int depth = 0;
  while (e < h.size()) {
    const char ch = h[e];
    if (ch == '(') ++depth;
    if (ch == ')') --depth;
    if (depth == 0 && (ch == ',' || ch == '}')) break;
    if (depth < 0) return false;
    ++e;
  }
  if (e >= h.size() || depth != 0) return false;
  value = h.substr(p, e - p);
  while (!value.empty() && value.back() == ' ') value.pop_back();
  return true;
}

}  // namespace

bool decode_npy(std::span<const uint8_t> file, Image& out, std::string& err) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (file.size() < 10 || std::memcmp(file.data(), magic, 6) != 0) return fail(err, "not an NPY file (bad magic)");
  const int major = file[6];
  size_t hlen = 0, start = 0;
  if (major == 1) {
    hlen = file[8] | file[9] << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (file.size() < 12) return fail(err, "NPY: truncated header");
    hlen = static_cast<size_t>(file[8]) | static_cast<size_t>(file[9]) << 8 | static_cast<size_t>(file[10]) << 16 |
           static_cast<size_t>(file[11]) << 24;
    start = 12;
  } else {
    return fail(err, "NPY: unsupported format version " + std::to_string(major));
  }
  if (hlen > kMaxNpyHeader) return fail(err, "NPY: header of " + std::to_string(hlen) + " bytes exceeds the cap");
  if (file.size() - start < hlen) return fail(err, "NPY: truncated header");
  const std::string h(reinterpret_cast<const char*>(file.data() + start), hlen);
  std::string descr, fortran, shape;
  if (!npy_field(h, "descr", descr) || !npy_field(h, "fortran_order", fortran) || !npy_field(h, "shape", shape))
    return fail(err, "NPY: header misses descr, fortran_order or shape");
  bool swap = false;
  uint32_t pixel;
  if (descr == "'|u1'" || descr == "'u1'" || descr == "'<u1'" || descr == "'>u1'") {
    pixel = TRIAGE_PIXEL_U8;
  } else if (descr == "'<u2'" || descr == "'>u2'") {
    pixel = TRIAGE_PIXEL_U16;
    const uint16_t one = 1;
    const bool little = *reinterpret_cast<const uint8_t*>(&one) == 1;
    swap = (descr == "'>u2'") == little;
  } else {
    return fail(err, "NPY: dtype " + descr + " is not u1 or u2");
  }
  if (fortran != "False" && fortran != "True") return fail(err, "NPY: fortran_order is not True or False");
  // shape: "(H, W)" or "(H, W, C)"
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') return fail(err, "NPY: malformed shape");
  uint64_t dims[4] = {0, 0, 0, 0};
  int nd = 0;
  size_t p = 1;
  while (p < shape.size() - 1) {
    while (p < shape.size() - 1 && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p >= shape.size() - 1) break;
    if (!std::isdigit(static_cast<unsigned char>(shape[p])) || nd == 4) return fail(err, "NPY: malformed shape " + shape);
    int digits = 0;
    while (p < shape.size() - 1 && std::isdigit(static_cast<unsigned char>(shape[p]))) {
      if (++digits > 9) return fail(err, "NPY: shape value too large");
      dims[nd] = dims[nd] * 10 + (shape[p++] - '0');
    }
    ++nd;
  }
  if (nd != 2 && nd != 3) return fail(err, "NPY: shape " + shape + " is not (H, W) or (H, W, C)");
  if (!allocate(out, dims[0], dims[1], nd == 3 ? dims[2] : 1, pixel, err)) return fail(err, "NPY: " + err);
  const size_t need = out.row_stride * out.height, data = start + hlen;
  if (file.size() - data != need)
    return fail(err, "NPY: data holds " + std::to_string(file.size() - data) + " bytes, shape needs " + std::to_string(need));
  if (fortran == "False") {
    std::memcpy(out.bytes(), file.data() + data, need);
  } else {
    // Fortran order: element (y, x, c) is stored at y + H * (x + W * c).
    const size_t H = out.height, W = out.width, C = out.channels, bps = pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
    for (size_t c = 0; c < C; ++c)
      for (size_t x = 0; x < W; ++x)
        for (size_t y = 0; y < H; ++y)
          std::memcpy(out.bytes() + ((y * W + x) * C + c) * bps, file.data() + data + (y + H * (x + W * c)) * bps, bps);
  }
  if (swap)
    for (uint16_t& v : out.storage) v = static_cast<uint16_t>(v << 8 | v >> 8);
  return true;
}

bool decode_image(std::span<const uint8_t> file, Image& out, std::string& err) {
  if (file.size() >= 8 && png_sig_cmp(file.data(), 0, 8) == 0) return decode_png(file, out, err);
  if (file.size() >= 6 && file[0] == 0x93 && std::memcmp(file.data() + 1, "NUMPY", 5) == 0) return decode_npy(file, out, err);
  if (file.size() >= 2 && file[0] == 'P' && file[1] == '5') return decode_pgm(file, out, err);
  return fail(err, "unknown image format (PNG, PGM P5 and NPY are read)");
}

bool read_image(const std::string& path, Image& out, std::string& err) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(err, "cannot open: " + std::string(std::strerror(errno)));
  std::vector<uint8_t> bytes;
  bool ok = std::fseek(f, 0, SEEK_END) == 0;
  const long size = ok ? std::ftell(f) : -1;
  ok = ok && size >= 0 && std::fseek(f, 0, SEEK_SET) == 0;
  if (ok && static_cast<unsigned long>(size) > kMaxImageFileBytes) {
    std::fclose(f);
    return fail(err, "file of " + std::to_string(size) + " bytes exceeds the image file cap");
  }
  if (ok) {
    bytes.resize(static_cast<size_t>(size));
    ok = std::fread(bytes.data(), 1, bytes.size(), f) == bytes.size();
  }
  std::fclose(f);
  if (!ok) return fail(err, "cannot read the file");
  return decode_image(bytes, out, err);
}

bool is_image_name(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == "png" || ext == "pgm" || ext == "npy";
}

}  // namespace triage::cli
