// Fuzz target for the image decoders of tools/cli (issue 15): PNG, PGM, NPY, each directly and through
// the magic-byte dispatch. Invariants: a decoder either fails with a one-line message or returns an
// image whose dimensions are within the caps, whose row stride covers a row, and whose storage holds
// every row; every pixel byte is readable.
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
  using Decoder = bool (*)(std::span<const uint8_t>, triage::cli::Image&, std::string&);
  for (Decoder d : {&triage::cli::decode_image, &triage::cli::decode_png, &triage::cli::decode_pgm,
                    &triage::cli::decode_npy}) {
    triage::cli::Image im;
    std::string err;
    const bool ok = d(file, im, err);
    check(ok, im, err);
  }
  return 0;
}
