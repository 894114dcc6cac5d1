// TIFF reader (libtiff, from memory through TIFFClientOpenExt): 8/16-bit unsigned samples; min-is-black
// or min-is-white gray (white inverted to black = 0), optionally with one extra (alpha) sample; RGB, optionally
// with alpha; JPEG-compressed YCbCr decoded to RGB by libtiff; strips or tiles, contiguous or planar;
// any compression libtiff was built with. The Orientation tag is ignored (rows as stored).
// Several pages can be stacked as channels (decode_tiff's pages). Caps: kMaxTiffPages directories (the
// whole file is walked, so a page cycle or a broken later directory refuses the file), one libtiff
// allocation <= kMaxDecoderMemory, strip/tile count per plane <= kMaxTiffBlocks. libtiff's errors and
// warnings never reach stderr: per-file handlers capture the first error, and process-wide handlers
// (installed once) route messages without a file to the decode running on this thread, or drop them.
#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "tools/cli/image_common.h"
#include "tools/cli/image_io.h"

namespace triage::cli {
namespace {

constexpr uint64_t kMaxTiffBlocks = uint64_t(1) << 21;

struct TiffSource {
  const uint8_t* data;
  uint64_t size, pos;
  char message[256];
};

thread_local TiffSource* t_current = nullptr;

void record(TiffSource* s, const char* module, const char* fmt, va_list ap) {
  if (!s || s->message[0]) return;  // the first error explains best
  char text[200];
  std::vsnprintf(text, sizeof text, fmt, ap);
  if (module && module[0]) std::snprintf(s->message, sizeof s->message, "%s: %s", module, text);
  else std::snprintf(s->message, sizeof s->message, "%s", text);
}

int on_error_r(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  record(static_cast<TiffSource*>(user), module, fmt, ap);
  return 1;  // handled: not passed on to the process-wide handlers
}

int on_warning_r(TIFF*, void*, const char*, const char*, va_list) { return 1; }

void on_global_error(const char* module, const char* fmt, va_list ap) { record(t_current, module, fmt, ap); }
void on_global_warning(const char*, const char*, va_list) {}

tmsize_t tiff_read(thandle_t h, void* buf, tmsize_t n) {
  auto* s = static_cast<TiffSource*>(h);
  if (n <= 0 || s->pos >= s->size) return 0;
  const uint64_t k = std::min<uint64_t>(static_cast<uint64_t>(n), s->size - s->pos);
  std::memcpy(buf, s->data + s->pos, static_cast<size_t>(k));
  s->pos += k;
  return static_cast<tmsize_t>(k);
}

tmsize_t tiff_write(thandle_t, void*, tmsize_t) { return 0; }

toff_t tiff_seek(thandle_t h, toff_t off, int whence) {
  auto* s = static_cast<TiffSource*>(h);
  uint64_t base = 0;
  if (whence == SEEK_CUR) base = s->pos;
  else if (whence == SEEK_END) base = s->size;
  else if (whence != SEEK_SET) return static_cast<toff_t>(-1);
  // off is unsigned: a relative seek backwards arrives as a wrapped value; 2's complement addition gives
  // the intended position, and anything past the end is refused.
  const uint64_t pos = base + off;
  if (pos > s->size) return static_cast<toff_t>(-1);
  s->pos = pos;
  return pos;
}

int tiff_close(thandle_t) { return 0; }
toff_t tiff_size(thandle_t h) { return static_cast<TiffSource*>(h)->size; }
int tiff_map(thandle_t, void**, toff_t*) { return 0; }
void tiff_unmap(thandle_t, void*, toff_t) {}

bool set_msg(TiffSource& s, const std::string& m) {
  std::snprintf(s.message, sizeof s.message, "%s", m.c_str());
  return false;
}

// Reads the current directory into img. On failure s.message holds the reason.
bool read_page(TIFF* tif, uint32_t page, TiffSource& s, Image& img) {
  const std::string at = "page " + std::to_string(page) + ": ";
  uint32_t w = 0, h = 0;
  uint16_t spp = 1, bps = 1, format = SAMPLEFORMAT_UINT, photometric = 0, planar = PLANARCONFIG_CONTIG, compression = 0;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
    return s.message[0] ? false : set_msg(s, at + "no image width or length");
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
  if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric)) return set_msg(s, at + "no photometric interpretation tag");
  if (bps != 8 && bps != 16) return set_msg(s, at + std::to_string(bps) + "-bit samples (8 or 16 are read)");
  if (format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_VOID)
    return set_msg(s, at + "sample format " + std::to_string(format) + " (unsigned integers are read)");
  if (planar != PLANARCONFIG_CONTIG && planar != PLANARCONFIG_SEPARATE) return set_msg(s, at + "bad planar configuration");
  Channels meaning;
  if ((photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE) && (spp == 1 || spp == 2)) {
    meaning = spp == 1 ? Channels::gray : Channels::gray_alpha;
  } else if (photometric == PHOTOMETRIC_RGB && (spp == 3 || spp == 4)) {
    meaning = spp == 3 ? Channels::rgb : Channels::rgba;
  } else if (photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG && spp == 3 && bps == 8 &&
             planar == PLANARCONFIG_CONTIG) {
    if (!TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB)) return set_msg(s, at + "cannot decode YCbCr as RGB");
    meaning = Channels::rgb;
  } else {
    return set_msg(s, at + "photometric " + std::to_string(photometric) + " with " + std::to_string(spp) +
                          " samples per pixel (gray, gray+alpha, RGB, RGBA are read)");
  }
  if (w == 0 || h == 0 || w > TRIAGE_MAX_IMAGE_SIDE || h > TRIAGE_MAX_IMAGE_SIDE)
    return set_msg(s, at + "image " + std::to_string(h) + " x " + std::to_string(w) + " is empty or exceeds the " +
                          std::to_string(TRIAGE_MAX_IMAGE_SIDE) + " pixel side cap");

  // A block is a strip (bw = width, bh = rows per strip) or a tile; planar files have one set per sample.
  const bool tiled = TIFFIsTiled(tif) != 0;
  uint32_t bw = w, bh = h;
  if (tiled) {
    if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &bw) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &bh) || bw == 0 || bh == 0)
      return set_msg(s, at + "bad tile size");
  } else {
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &bh);
    if (bh == 0) return set_msg(s, at + "zero rows per strip");
    bh = std::min(bh, h);
  }
  const uint64_t planes = planar == PLANARCONFIG_SEPARATE ? spp : 1, block_spp = planar == PLANARCONFIG_SEPARATE ? 1 : spp;
  const uint64_t bytes_per_sample = bps / 8, block_row = uint64_t(bw) * block_spp * bytes_per_sample;
  const uint64_t blocks = ((uint64_t(w) + bw - 1) / bw) * ((uint64_t(h) + bh - 1) / bh);
  if (blocks > kMaxTiffBlocks) return set_msg(s, at + std::to_string(blocks) + " strips or tiles per plane (cap " +
                                                     std::to_string(kMaxTiffBlocks) + ")");
  if (uint64_t(bh) > kMaxDecoderMemory / std::max<uint64_t>(block_row, 1))
    return set_msg(s, at + "strip or tile exceeds the decoder memory cap");
  const uint64_t block_bytes = block_row * bh;  // <= kMaxDecoderMemory
  const tmsize_t lib_block = tiled ? TIFFTileSize(tif) : TIFFStripSize(tif);
  if (lib_block <= 0 || static_cast<uint64_t>(lib_block) != block_bytes)
    return s.message[0] ? false : set_msg(s, at + "unexpected strip or tile size");
  // libtiff pads a short StripOffsets / StripByteCounts array (with a warning) and reads what is there:
  // every block must have data inside the file, and uncompressed blocks must cover the image. This is
  // checked before the image is sized, so a small file cannot make it allocate its full claim.
  const uint64_t nblocks = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
  if (nblocks != blocks * planes)
    return set_msg(s, at + std::to_string(nblocks) + " strips or tiles, the geometry needs " + std::to_string(blocks * planes));
  uint64_t stored = 0;
  for (uint64_t b = 0; b < nblocks; ++b) {
    const uint64_t off = TIFFGetStrileOffset(tif, static_cast<uint32_t>(b)), n = TIFFGetStrileByteCount(tif, static_cast<uint32_t>(b));
    if (n == 0 || off == 0 || off > s.size || n > s.size - off)
      return set_msg(s, at + "strip or tile " + std::to_string(b) + " has no data in the file");
    stored += n;
  }
  const uint64_t image_bytes = uint64_t(w) * h * spp * bytes_per_sample;
  if (compression == COMPRESSION_NONE && stored < image_bytes)
    return set_msg(s, at + "uncompressed data holds " + std::to_string(stored) + " of " + std::to_string(image_bytes) + " bytes");
  std::string aerr;  // sized only after the geometry checks
  if (!detail::allocate(img, h, w, spp, bps == 16 ? TRIAGE_PIXEL_U16 : TRIAGE_PIXEL_U8, aerr)) return set_msg(s, at + aerr);
  img.meaning = meaning;
  std::vector<uint8_t> buf(static_cast<size_t>(block_bytes));
  for (uint64_t p = 0; p < planes; ++p) {
    for (uint32_t by = 0; by < h; by += bh) {
      const uint32_t rows = std::min(bh, h - by);
      for (uint32_t bx = 0; bx < w; bx += bw) {
        const uint32_t cols = std::min(bw, w - bx);
        tmsize_t got;
        uint64_t want;
        if (tiled) {
          want = block_bytes;
          got = TIFFReadEncodedTile(tif, TIFFComputeTile(tif, bx, by, 0, static_cast<uint16_t>(p)), buf.data(),
                                    static_cast<tmsize_t>(block_bytes));
        } else {
          want = block_row * rows;  // the last strip may be short
          got = TIFFReadEncodedStrip(tif, TIFFComputeStrip(tif, by, static_cast<uint16_t>(p)), buf.data(),
                                     static_cast<tmsize_t>(want));
        }
        if (got < 0) return s.message[0] ? false : set_msg(s, at + "cannot decode a strip or tile");
        if (static_cast<uint64_t>(got) != want) return set_msg(s, at + "short strip or tile");
        for (uint32_t r = 0; r < rows; ++r) {
          const uint8_t* src = buf.data() + r * block_row;
          uint8_t* dst = img.bytes() + (by + r) * img.row_stride + uint64_t(bx) * spp * bytes_per_sample;
          if (planes == 1) {
            std::memcpy(dst, src, cols * spp * bytes_per_sample);
          } else {
            for (uint32_t x = 0; x < cols; ++x)
              std::memcpy(dst + (uint64_t(x) * spp + p) * bytes_per_sample, src + x * bytes_per_sample, bytes_per_sample);
          }
        }
      }
    }
  }
  if (photometric == PHOTOMETRIC_MINISWHITE) {  // the gray sample, not the alpha one
    const size_t n = size_t(w) * h;
    if (bps == 16) {
      for (size_t i = 0; i < n; ++i) img.storage[i * spp] = static_cast<uint16_t>(65535 - img.storage[i * spp]);
    } else {
      for (size_t i = 0; i < n; ++i) img.bytes()[i * spp] = static_cast<uint8_t>(255 - img.bytes()[i * spp]);
    }
  }
  return true;
}

// Puts single-channel page into channel c of out (same size and sample type, checked by the caller).
void put_channel(const Image& page, uint32_t c, Image& out) {
  const size_t bps = out.pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
  for (uint32_t y = 0; y < out.height; ++y) {
    const uint8_t* src = page.bytes() + y * page.row_stride;
    uint8_t* dst = out.bytes() + y * out.row_stride + c * bps;
    for (uint32_t x = 0; x < out.width; ++x) std::memcpy(dst + size_t(x) * out.channels * bps, src + x * bps, bps);
  }
}

bool decode_pages(TIFF* tif, TiffSource& s, std::span<const uint32_t> pages, Image& out) {
  // Walks every directory: a next-offset that does not lead to a readable directory (past the end, a
  // cycle, which libtiff only warns about) refuses the file.
  uint32_t count = 1;
  while (!TIFFLastDirectory(tif)) {
    if (!TIFFReadDirectory(tif))
      return s.message[0] ? false : set_msg(s, "page " + std::to_string(count) + ": broken directory chain (bad offset or a cycle)");
    if (++count > kMaxTiffPages) return set_msg(s, "more than " + std::to_string(kMaxTiffPages) + " pages");
  }
  if (pages.size() > TRIAGE_MAX_CHANNELS)
    return set_msg(s, std::to_string(pages.size()) + " pages selected (at most " + std::to_string(TRIAGE_MAX_CHANNELS) + ")");
  const uint32_t first = pages.empty() ? 0 : pages[0];
  for (uint32_t p : pages)
    if (p >= count) return set_msg(s, "page " + std::to_string(p) + " selected, the file has " + std::to_string(count));
  if (pages.size() <= 1) {
    if (!TIFFSetDirectory(tif, static_cast<tdir_t>(first))) return s.message[0] ? false : set_msg(s, "cannot read the page");
    return read_page(tif, first, s, out);
  }
  Image page;
  for (size_t i = 0; i < pages.size(); ++i) {
    if (!TIFFSetDirectory(tif, static_cast<tdir_t>(pages[i]))) return s.message[0] ? false : set_msg(s, "cannot read a page");
    if (!read_page(tif, pages[i], s, page)) return false;
    const std::string at = "page " + std::to_string(pages[i]) + ": ";
    if (page.channels != 1) return set_msg(s, at + std::to_string(page.channels) + " samples per pixel (one per page is stacked)");
    if (i == 0) {
      std::string aerr;
      if (!detail::allocate(out, page.height, page.width, pages.size(), page.pixel, aerr)) return set_msg(s, aerr);
    } else if (page.height != out.height || page.width != out.width || page.pixel != out.pixel) {
      return set_msg(s, at + "size or depth differs from page " + std::to_string(pages[0]));
    }
    put_channel(page, static_cast<uint32_t>(i), out);
  }
  out.meaning = Channels::planes;
  return true;
}

}  // namespace

bool decode_tiff(std::span<const uint8_t> file, Image& out, std::string& err, std::span<const uint32_t> pages) {
  static const uint8_t kLe[4] = {'I', 'I', 42, 0}, kBe[4] = {'M', 'M', 0, 42}, kBigLe[4] = {'I', 'I', 43, 0},
                       kBigBe[4] = {'M', 'M', 0, 43};
  if (file.size() < 4 || (std::memcmp(file.data(), kLe, 4) && std::memcmp(file.data(), kBe, 4) &&
                          std::memcmp(file.data(), kBigLe, 4) && std::memcmp(file.data(), kBigBe, 4)))
    return detail::fail(err, "not a TIFF file (bad signature)");
  if (file.size() < 16) return detail::fail(err, "TIFF: truncated header");
  static std::once_flag quiet;
  std::call_once(quiet, [] {
    TIFFSetErrorHandler(on_global_error);
    TIFFSetWarningHandler(on_global_warning);
  });
  TiffSource src{file.data(), file.size(), 0, {}};
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  if (!opts) return detail::fail(err, "TIFF: out of memory");
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts, static_cast<tmsize_t>(kMaxDecoderMemory));
  TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error_r, &src);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning_r, &src);
  t_current = &src;
  // "m": no memory mapping (reads go through tiff_read; the buffer is never written).
  TIFF* tif = TIFFClientOpenExt("image", "rm", &src, tiff_read, tiff_write, tiff_seek, tiff_close, tiff_size, tiff_map,
                                tiff_unmap, opts);
  TIFFOpenOptionsFree(opts);
  const bool ok = tif && decode_pages(tif, src, pages, out);
  if (tif) TIFFClose(tif);
  t_current = nullptr;
  if (!ok) return detail::fail(err, std::string("TIFF: ") + (src.message[0] ? src.message : "cannot decode"));
  return true;
}

}  // namespace triage::cli
