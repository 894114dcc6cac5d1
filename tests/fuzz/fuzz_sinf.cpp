// Fuzz target for the SINF wafer map reader (tools/cli/wafermap_sinf.cpp), directly and through the
// content dispatch of decode_image. Invariants: a refusal has a one-line message; a decoded map is a
// 1-channel u8 grid within the caps holding only 0, 1, 2; decoding is deterministic; and the grid
// written back as a plain SINF (flat at the bottom) decodes to the same grid.
#include <cstdint>
#include <span>
#include <string>

#include "tools/cli/image_io.h"
#include "tools/cli/wafermap_io.h"

#define TRIAGE_FUZZ_TARGET "fuzz_sinf"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/wafermap_checks.h"

namespace {

using triage::cli::Image;
using triage::fuzz::check_map;
using triage::fuzz::same_grid;

std::string as_sinf(const Image& im) {
  std::string t = "FNLOC:180\nBCEQU:01\n";
  for (uint32_t y = 0; y < im.height; ++y) {
    t += "RowData:";
    for (uint32_t x = 0; x < im.width; ++x) {
      const uint8_t v = im.bytes()[y * im.row_stride + x];
      t += v == 0 ? "__ " : v == 1 ? "01 " : "0B ";
    }
    t += "\n";
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> file(data, size);
  Image a, b;
  std::string ea, eb;
  const bool ok = triage::cli::decode_sinf(file, a, ea);
  check_map(ok, a, ea);
  const bool ok2 = triage::cli::decode_sinf(file, b, eb);
  FUZZ_CHECK(ok == ok2 && (!ok || same_grid(a, b)) && (ok || ea == eb), "deterministic");
  if (triage::cli::looks_like_sinf(file)) {
    Image c;
    std::string ec;
    const bool okc = triage::cli::decode_image(file, c, ec);
    const bool pgm = size >= 2 && data[0] == 'P' && data[1] == '5';  // the PGM magic comes first
    if (!triage::cli::looks_like_e142(file) && !pgm) FUZZ_CHECK(okc == ok && (!ok || same_grid(a, c)), "the dispatch finds the SINF reader");
  }
  if (ok) {
    const std::string back = as_sinf(a);
    Image r;
    std::string er;
    FUZZ_CHECK(triage::cli::decode_sinf({reinterpret_cast<const uint8_t*>(back.data()), back.size()}, r, er) && same_grid(a, r),
               "the grid written back as SINF decodes the same");
  }
  return 0;
}
