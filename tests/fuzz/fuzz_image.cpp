// Fuzz target for the image decoders of tools/cli (issues 15, 13): PNG, JPEG, TIFF (page 0 and a
// two-page stack), PGM, NPY, each directly and through the magic-byte dispatch, then the channel rule
// on every decoded image. Invariants: a decoder either fails with a one-line message or returns an
// image whose dimensions are within the caps, whose row stride covers a row, and whose storage holds
// every row; every pixel byte is readable; a conversion either fails with a one-line message, leaving
// the image as it was, or gives the wanted channel count.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "tools/cli/image_io.h"

#define TRIAGE_FUZZ_TARGET "fuzz_image"
#include "tests/fuzz/fuzz_check.h"

namespace {

volatile uint32_t g_sink;

void check(bool ok, const triage::cli::Image& im, const std::string& err) {
  if (!ok) {
    FUZZ_CHECK(!err.empty() && err.find('\n') == std::string::npos, "a failure has a one-line message");
    return;
  }
  FUZZ_CHECK(im.height >= 1 && im.width >= 1 && im.height <= TRIAGE_MAX_IMAGE_SIDE && im.width <= TRIAGE_MAX_IMAGE_SIDE,
             "dimensions within the caps");
  FUZZ_CHECK(im.channels >= 1 && im.channels <= 4, "channels");
  const size_t sample = im.pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
  FUZZ_CHECK(im.pixel == TRIAGE_PIXEL_U8 || im.pixel == TRIAGE_PIXEL_U16, "pixel type");
  FUZZ_CHECK(im.row_stride >= size_t(im.width) * im.channels * sample, "row stride covers a row");
  FUZZ_CHECK(im.storage.size() * 2 >= im.row_stride * (im.height - 1) + size_t(im.width) * im.channels * sample,
             "storage holds every row");
  uint32_t acc = 0;
  for (uint32_t y = 0; y < im.height; ++y)
    for (size_t x = 0; x < size_t(im.width) * im.channels * sample; ++x) acc += im.bytes()[y * im.row_stride + x];
  g_sink = acc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> file(data, size);
  using triage::cli::Image;
  using Decoder = bool (*)(std::span<const uint8_t>, Image&, std::string&);
  static const uint32_t kTwoPages[] = {1, 0};
  const Decoder decoders[] = {
      [](std::span<const uint8_t> f, Image& im, std::string& e) { return triage::cli::decode_image(f, im, e); },
      &triage::cli::decode_png,
      &triage::cli::decode_jpeg,
      [](std::span<const uint8_t> f, Image& im, std::string& e) { return triage::cli::decode_tiff(f, im, e); },
      [](std::span<const uint8_t> f, Image& im, std::string& e) { return triage::cli::decode_tiff(f, im, e, kTwoPages); },
      &triage::cli::decode_pgm,
      &triage::cli::decode_npy};
  for (Decoder d : decoders) {
    Image im;
    std::string err;
    const bool ok = d(file, im, err);
    check(ok, im, err);
    if (!ok) continue;
    for (uint32_t want : {1u, 3u}) {
      Image c = im;
      const uint32_t before = c.channels;
      const bool converted = triage::cli::convert_channels(c, want, err);
      if (converted) FUZZ_CHECK(c.channels == want, "a conversion gives the wanted channels");
      else FUZZ_CHECK(c.channels == before, "a refused conversion leaves the image");
      check(converted, c, err);
    }
  }
  return 0;
}
