// Readers for the input images `triage run` accepts: PNG (8/16-bit gray, also 1/2/4-bit gray kept as
// raw values), PGM P5 (8/16-bit), NPY (u8/u16, (H, W) or (H, W, C), C or Fortran order). Every reader checks
// hard caps (side <= TRIAGE_MAX_IMAGE_SIDE, bounded headers, overflow-checked sizes) and reports a
// malformed file as an error message, never a crash.
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

struct Image {
  std::vector<uint16_t> storage;  // pixels (u8 images use the bytes of this buffer), 2-byte aligned
  uint32_t pixel = TRIAGE_PIXEL_U8;
  uint32_t height = 0, width = 0, channels = 1;
  size_t row_stride = 0;  // bytes

  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(storage.data()); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(storage.data()); }
  triage_image view() const;
};

// Decoders from memory. false + err (a one-line reason) on malformed or over-cap input.
bool decode_png(std::span<const uint8_t> file, Image& out, std::string& err);
bool decode_pgm(std::span<const uint8_t> file, Image& out, std::string& err);
bool decode_npy(std::span<const uint8_t> file, Image& out, std::string& err);
// Picks the decoder from the file's magic bytes.
bool decode_image(std::span<const uint8_t> file, Image& out, std::string& err);
// Reads path (size-capped) and decodes it.
bool read_image(const std::string& path, Image& out, std::string& err);
// Whether a file name has an extension read_image handles (.png, .pgm, .npy; case-insensitive).
bool is_image_name(const std::string& name);

}  // namespace triage::cli
