// Readers for the input images of every `triage` subcommand, picked by magic bytes:
//   PNG   gray 1/2/4-bit (raw values kept), gray / gray+alpha / RGB / RGBA 8 and 16-bit, palette (-> RGB,
//         or RGBA with a tRNS chunk; tRNS of other types ignored), interlaced (libpng; image_png.cpp);
//   JPEG  baseline and progressive, gray and YCbCr/RGB colour, 8-bit (libjpeg-turbo; image_jpeg.cpp);
//   TIFF  8/16-bit unsigned gray (min-is-black or min-is-white), gray+alpha, RGB(A); strips or tiles,
//         contiguous or planar; any compression libtiff decodes; multi-page (libtiff; image_tiff.cpp);
//   PGM   P5 8/16-bit;  NPY  u8/u16, (H, W) or (H, W, C), C or Fortran order (image_io.cpp);
//   SINF and SEMI E142 XML wafer maps, recognised by content, as the 0/1/2 die grid (wafermap_io.h).
// Every reader checks hard caps (side <= TRIAGE_MAX_IMAGE_SIDE, file <= kMaxImageFileBytes, TIFF pages
// <= kMaxTiffPages, libjpeg/libtiff allocations <= kMaxDecoderMemory, bounded headers, overflow-checked
// sizes) and reports a malformed file as a one-line error message, never a crash. A JPEG that libjpeg
// warns about (truncated, corrupt data) is refused, not decoded with filler.
// convert_channels (image_channels.cpp) adapts an image to the channel count a model wants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/triage.h"

namespace triage::cli {

inline constexpr size_t kMaxImageFileBytes = size_t(1) << 31;  // 2 GiB
inline constexpr size_t kMaxNpyHeader = 64 * 1024;
inline constexpr size_t kMaxPgmHeader = 4096;
inline constexpr uint32_t kMaxTiffPages = 256;             // directories in one TIFF file
inline constexpr size_t kMaxDecoderMemory = size_t(1) << 30;  // libjpeg work memory, one libtiff allocation
inline constexpr int kMaxJpegScans = 500;                  // progressive scans (hostile files have thousands)

// What the channels of a decoded image mean. Only gray / gray_alpha / rgb / rgba have a conversion
// rule; planes are independent channels (NPY with C > 1, several TIFF pages) and are never mixed.
enum class Channels : uint8_t { gray, gray_alpha, rgb, rgba, planes };

struct Image {
  std::vector<uint16_t> storage;  // pixels (u8 images use the bytes of this buffer), 2-byte aligned
  uint32_t pixel = TRIAGE_PIXEL_U8;
  uint32_t height = 0, width = 0, channels = 1;
  size_t row_stride = 0;  // bytes
  Channels meaning = Channels::gray;

  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(storage.data()); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(storage.data()); }
  triage_image view() const;
};

// Decoders from memory. false + err (a one-line reason) on malformed or over-cap input.
bool decode_png(std::span<const uint8_t> file, Image& out, std::string& err);
bool decode_jpeg(std::span<const uint8_t> file, Image& out, std::string& err);
// pages: TIFF page indexes (0-based) stacked as channels, one page per channel; every page then must
// have one sample per pixel and the same size and depth as the others. Empty: page 0, as stored. A
// single index: that page, as stored.
bool decode_tiff(std::span<const uint8_t> file, Image& out, std::string& err, std::span<const uint32_t> pages = {});
bool decode_pgm(std::span<const uint8_t> file, Image& out, std::string& err);
bool decode_npy(std::span<const uint8_t> file, Image& out, std::string& err);
// Picks the decoder from the file's magic bytes. Non-empty pages are refused for formats other than TIFF.
bool decode_image(std::span<const uint8_t> file, Image& out, std::string& err, std::span<const uint32_t> pages = {});
// Reads path (size-capped) and decodes it. err does not name the file: callers prefix the path.
bool read_image(const std::string& path, Image& out, std::string& err, std::span<const uint32_t> pages = {});
// Whether a file name has an extension read_image handles (.png, .jpg, .jpeg, .tif, .tiff, .pgm, .npy,
// and the wafer maps .sinf, .e142, .xml; case-insensitive).
bool is_image_name(const std::string& name);
// "0,1,2" -> {0, 1, 2}: 1..TRIAGE_MAX_CHANNELS indexes, each < kMaxTiffPages.
bool parse_pages(const std::string& text, std::vector<uint32_t>& out, std::string& err);

// The channel rule: makes img.channels == want (1..TRIAGE_MAX_CHANNELS), keeping the sample type.
//   equal counts: unchanged (whatever the meaning);
//   alpha is dropped: gray_alpha -> gray, rgba -> rgb;
//   colour -> 1 channel: Rec. 601 luma, Y = (299 R + 587 G + 114 B + 500) / 1000 in integers (exact
//     coefficients, rounded half up; u16 sums fit in 32 bits);
//   gray -> 3 channels: the gray value replicated into R, G and B;
//   anything else (planes of another count, 2 or 4 channels wanted from colour, ...): false + err.
bool convert_channels(Image& img, uint32_t want, std::string& err);

}  // namespace triage::cli
