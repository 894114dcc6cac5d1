// Helpers shared by the image decoders (image_*.cpp): the one-line error rule and the checked allocation.
#pragma once

#include <cstdint>
#include <string>

#include "tools/cli/image_io.h"

namespace triage::cli::detail {

// Sets err to msg made one printable line of bounded length (messages may quote file bytes); returns false.
bool fail(std::string& err, const std::string& msg);

// Sizes img for h x w x c samples of the pixel type, checking the side and channel caps (no overflow:
// 16384 * 16384 * 4 * 2 bytes fits in 64 bits). meaning: gray for c == 1, planes otherwise.
bool allocate(Image& img, uint64_t h, uint64_t w, uint64_t c, uint32_t pixel, std::string& err);

inline bool host_little_endian() {
  const uint16_t one = 1;
  return *reinterpret_cast<const uint8_t*>(&one) == 1;
}

}  // namespace triage::cli::detail
