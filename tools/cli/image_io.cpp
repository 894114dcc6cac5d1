// Image readers shared part (see image_io.h): error and allocation helpers, PGM, NPY, the magic-byte
// dispatch, file reading. PNG, JPEG and TIFF live in image_png.cpp, image_jpeg.cpp, image_tiff.cpp.
#include "tools/cli/image_io.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tools/cli/image_common.h"
#include "tools/cli/wafermap_io.h"

namespace triage::cli {
namespace detail {

// Messages quote bytes of the file (an NPY dtype or shape): they stay one printable line of bounded
// length whatever the file holds (found by fuzz_image: a shape with a newline broke the one-line rule).
constexpr size_t kMaxErrorChars = 240;

bool fail(std::string& err, const std::string& msg) {
  std::string out;
  for (char c : msg) {
    if (out.size() == kMaxErrorChars) {
      out += "...";
      break;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (out.empty()) out = "malformed image";
  err = out;  // msg may be err itself
  return false;
}

bool allocate(Image& img, uint64_t h, uint64_t w, uint64_t c, uint32_t pixel, std::string& err) {
  if (h == 0 || w == 0 || c == 0) return fail(err, "image has a zero dimension");
  if (h > TRIAGE_MAX_IMAGE_SIDE || w > TRIAGE_MAX_IMAGE_SIDE)
    return fail(err, "image " + std::to_string(h) + " x " + std::to_string(w) + " exceeds the " +
                         std::to_string(TRIAGE_MAX_IMAGE_SIDE) + " pixel side cap");
  if (c > TRIAGE_MAX_CHANNELS)
    return fail(err, "image has " + std::to_string(c) + " channels (at most " + std::to_string(TRIAGE_MAX_CHANNELS) + ")");
  const uint64_t bps = pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
  const uint64_t row = w * c * bps, total = row * h;  // <= 16384 * 4 * 2 * 16384: no overflow
  img.pixel = pixel;
  img.height = static_cast<uint32_t>(h);
  img.width = static_cast<uint32_t>(w);
  img.channels = static_cast<uint32_t>(c);
  img.row_stride = static_cast<size_t>(row);
  img.meaning = c == 1 ? Channels::gray : Channels::planes;
  img.storage.assign(static_cast<size_t>((total + 1) / 2), 0);
  return true;
}

}  // namespace detail

using detail::allocate;
using detail::fail;

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

bool decode_image(std::span<const uint8_t> file, Image& out, std::string& err, std::span<const uint32_t> pages) {
  const auto starts = [&](std::initializer_list<uint8_t> m) {
    return file.size() >= m.size() && std::equal(m.begin(), m.end(), file.begin());
  };
  const bool tiff = starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42}) || starts({'I', 'I', 43, 0}) ||
                    starts({'M', 'M', 0, 43});
  if (tiff) return decode_tiff(file, out, err, pages);
  if (!pages.empty()) return fail(err, "page selection applies to TIFF files only");
  if (starts({0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})) return decode_png(file, out, err);
  if (starts({0xFF, 0xD8, 0xFF})) return decode_jpeg(file, out, err);
  if (starts({0x93, 'N', 'U', 'M', 'P', 'Y'})) return decode_npy(file, out, err);
  if (starts({'P', '5'})) return decode_pgm(file, out, err);
  if (looks_like_e142(file)) return decode_e142(file, out, err);  // wafer maps (wafermap_io.h), by content
  if (looks_like_sinf(file)) return decode_sinf(file, out, err);
  return fail(err, "unknown image format (PNG, JPEG, TIFF, PGM P5, NPY and the SINF / SEMI E142 wafer maps are read)");
}

bool read_image(const std::string& path, Image& out, std::string& err, std::span<const uint32_t> pages) {
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
  return decode_image(bytes, out, err, pages);
}

bool is_image_name(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "tif" || ext == "tiff" || ext == "pgm" ||
         ext == "npy" || ext == "sinf" || ext == "e142" || ext == "xml";
}

bool parse_pages(const std::string& text, std::vector<uint32_t>& out, std::string& err) {
  out.clear();
  size_t p = 0;
  while (p <= text.size()) {
    const size_t comma = std::min(text.find(',', p), text.size());
    const std::string item = text.substr(p, comma - p);
    if (item.empty() || item.size() > 6 || item.find_first_not_of("0123456789") != std::string::npos)
      return fail(err, "pages must be comma-separated page numbers (0-based), e.g. 0,1,2");
    const unsigned long v = std::stoul(item);
    if (v >= kMaxTiffPages) return fail(err, "page " + item + " is past the " + std::to_string(kMaxTiffPages) + " page cap");
    if (out.size() == TRIAGE_MAX_CHANNELS)
      return fail(err, "at most " + std::to_string(TRIAGE_MAX_CHANNELS) + " pages (one per channel)");
    out.push_back(static_cast<uint32_t>(v));
    p = comma + 1;
  }
  return true;
}

}  // namespace triage::cli
