// Invariants shared by the wafer map fuzz targets (fuzz_sinf, fuzz_e142): what a decoded map must be,
// and grid equality. Include after tests/fuzz/fuzz_check.h (FUZZ_CHECK).
#pragma once

#include <cstdint>
#include <string>

#include "tools/cli/image_io.h"
#include "tools/cli/wafermap_io.h"

namespace triage::fuzz {

// A refusal has a one-line message; a decoded map is a 1-channel u8 grid within the caps holding only
// the die states 0, 1, 2.
inline void check_map(bool ok, const cli::Image& im, const std::string& err) {
  if (!ok) {
    FUZZ_CHECK(!err.empty() && err.find('\n') == std::string::npos && err.size() < 300, "a refusal has a one-line message");
    return;
  }
  FUZZ_CHECK(im.channels == 1 && im.pixel == TRIAGE_PIXEL_U8, "a u8 grid");
  FUZZ_CHECK(im.height >= 1 && im.width >= 1 && im.height <= cli::kMaxWaferMapSide && im.width <= cli::kMaxWaferMapSide,
             "within the caps");
  FUZZ_CHECK(im.row_stride >= im.width && im.storage.size() * 2 >= im.row_stride * im.height, "storage holds every row");
  for (uint32_t y = 0; y < im.height; ++y)
    for (uint32_t x = 0; x < im.width; ++x) FUZZ_CHECK(im.bytes()[y * im.row_stride + x] <= 2, "die states 0, 1, 2");
}

inline bool same_grid(const cli::Image& a, const cli::Image& b) {
  if (a.height != b.height || a.width != b.width) return false;
  for (uint32_t y = 0; y < a.height; ++y)
    for (uint32_t x = 0; x < a.width; ++x)
      if (a.bytes()[y * a.row_stride + x] != b.bytes()[y * b.row_stride + x]) return false;
  return true;
}

}  // namespace triage::fuzz
