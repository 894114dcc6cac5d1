// The channel rule of image_io.h: an image is adapted to the channel count a model wants, or refused.
#include <string>

#include "tools/cli/image_common.h"
#include "tools/cli/image_io.h"

namespace triage::cli {
namespace {

const char* meaning_name(Channels m) {
  switch (m) {
    case Channels::gray: return "gray";
    case Channels::gray_alpha: return "gray+alpha";
    case Channels::rgb: return "RGB";
    case Channels::rgba: return "RGBA";
    case Channels::planes: break;
  }
  return "multi-plane";
}

// Rec. 601 luma with the exact coefficients, rounded half up; 1000 * 65535 + 500 fits in 32 bits.
inline uint32_t luma(uint32_t r, uint32_t g, uint32_t b) { return (299 * r + 587 * g + 114 * b + 500) / 1000; }

template <class T>
void convert(const Image& in, bool colour, Image& out) {
  const uint32_t ci = in.channels, co = out.channels;
  for (uint32_t y = 0; y < in.height; ++y) {
    const T* s = reinterpret_cast<const T*>(in.bytes() + size_t(y) * in.row_stride);
    T* d = reinterpret_cast<T*>(out.bytes() + size_t(y) * out.row_stride);
    for (uint32_t x = 0; x < in.width; ++x, s += ci, d += co) {
      if (co == 1) {
        d[0] = colour ? static_cast<T>(luma(s[0], s[1], s[2])) : s[0];
      } else {  // co == 3
        d[0] = s[0];
        d[1] = colour ? s[1] : s[0];
        d[2] = colour ? s[2] : s[0];
      }
    }
  }
}

}  // namespace

bool convert_channels(Image& img, uint32_t want, std::string& err) {
  if (want < 1 || want > TRIAGE_MAX_CHANNELS)
    return detail::fail(err, "the model wants " + std::to_string(want) + " channels (1.." +
                                 std::to_string(TRIAGE_MAX_CHANNELS) + " are supported)");
  if (img.channels == want) return true;
  const bool colour = img.meaning == Channels::rgb || img.meaning == Channels::rgba;
  const bool gray = img.meaning == Channels::gray || img.meaning == Channels::gray_alpha;
  if (!(colour || gray) || (want != 1 && want != 3))
    return detail::fail(err, "a " + std::to_string(img.channels) + "-channel " + meaning_name(img.meaning) +
                                 " image cannot feed a " + std::to_string(want) +
                                 "-channel model (rules: colour -> 1 by luma, gray -> 3 by replication, alpha dropped)");
  Image out;
  if (!detail::allocate(out, img.height, img.width, want, img.pixel, err)) return false;
  if (img.pixel == TRIAGE_PIXEL_U16) convert<uint16_t>(img, colour, out);
  else convert<uint8_t>(img, colour, out);
  out.meaning = want == 1 ? Channels::gray : Channels::rgb;
  img = std::move(out);
  return true;
}

}  // namespace triage::cli
