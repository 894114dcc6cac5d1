// Fuzz target for the SEMI E142 wafer map reader (tools/cli/wafermap_e142.cpp) and the XML subset reader
// under it (tools/cli/xml_subset.cpp), directly and through the content dispatch of decode_image.
// Invariants: a refusal has a one-line message; a decoded map is a 1-channel u8 grid within the caps
// holding only 0, 1, 2; decoding is deterministic; the grid written back as a plain E142 map (notch at
// the bottom) decodes to the same grid; the XML reader alone never loops and ends or fails.
#include <cstdint>
#include <span>
#include <string>

#include "tools/cli/image_io.h"
#include "tools/cli/wafermap_io.h"
#include "tools/cli/xml_subset.h"

#define TRIAGE_FUZZ_TARGET "fuzz_e142"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/wafermap_checks.h"

namespace {

using triage::cli::Image;
using triage::fuzz::check_map;
using triage::fuzz::same_grid;

std::string as_e142(const Image& im) {
  std::string t = "<MapData><SubstrateMaps><SubstrateMap><Overlay><BinCodeMap BinType=\"Ascii\" NullBin=\".\">"
                  "<BinDefinitions><BinDefinition BinCode=\"P\" BinQuality=\"Pass\"/><BinDefinition BinCode=\"F\" "
                  "BinQuality=\"Fail\"/></BinDefinitions>\n";
  for (uint32_t y = 0; y < im.height; ++y) {
    t += "<BinCode>";
    for (uint32_t x = 0; x < im.width; ++x) {
      const uint8_t v = im.bytes()[y * im.row_stride + x];
      t += v == 0 ? '.' : v == 1 ? 'P' : 'F';
    }
    t += "</BinCode>\n";
  }
  return t + "</BinCodeMap></Overlay></SubstrateMap></SubstrateMaps></MapData>\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> file(data, size);
  {  // the XML reader alone: every event consumes input, so it ends or fails within size + 2 events
    triage::cli::xml::Reader r({reinterpret_cast<const char*>(data), size});
    triage::cli::xml::Event ev;
    std::string err;
    size_t n = 0;
    for (;;) {
      const bool ok = r.next(ev, err);
      ++n;
      if (!ok) {
        FUZZ_CHECK(err.rfind("line ", 0) == 0 && err.find('\n') == std::string::npos, "an XML error names the line");
        break;
      }
      if (ev.kind == triage::cli::xml::Event::End) break;
      FUZZ_CHECK(n <= 2 * size + 2, "the XML reader makes progress");
      FUZZ_CHECK(r.depth() <= triage::cli::xml::kMaxDepth, "depth within the cap");
    }
  }
  Image a, b;
  std::string ea, eb;
  const bool ok = triage::cli::decode_e142(file, a, ea);
  check_map(ok, a, ea);
  const bool ok2 = triage::cli::decode_e142(file, b, eb);
  FUZZ_CHECK(ok == ok2 && (!ok || same_grid(a, b)) && (ok || ea == eb), "deterministic");
  if (triage::cli::looks_like_e142(file)) {
    Image c;
    std::string ec;
    const bool okc = triage::cli::decode_image(file, c, ec);
    FUZZ_CHECK(okc == ok && (!ok || same_grid(a, c)), "the dispatch finds the E142 reader");
  }
  if (ok) {
    const std::string back = as_e142(a);
    Image r;
    std::string er;
    FUZZ_CHECK(triage::cli::decode_e142({reinterpret_cast<const uint8_t*>(back.data()), back.size()}, r, er) && same_grid(a, r),
               "the grid written back as E142 decodes the same");
  }
  return 0;
}
