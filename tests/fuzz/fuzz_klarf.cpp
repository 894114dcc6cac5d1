// Fuzz target for the KLARF reader and writer (tools/klarf, issue 13). Invariants: a refusal is one
// line starting "line N: "; an accepted file keeps its bytes, every located span lies inside it in
// order, and writing it back without changes gives the same bytes; writing it with every classifiable
// defect set to a class and two classes added gives a file that reads back with the same defects and
// images, those class values and the extended ClassLookup.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/klarf/klarf_reader.h"
#include "tools/klarf/klarf_writer.h"

#define TRIAGE_FUZZ_TARGET "fuzz_klarf"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace triage::klarf;

bool inside(const Document& d, Span s) { return s.begin <= s.end && s.end <= d.text.size(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ReadOptions opt;
  opt.auto_column_v12 = "AUTOSEMCLASS";  // locate an auto column in 1.2 too
  Document doc;
  std::string err;
  if (!read_klarf(text, opt, doc, err)) {
    FUZZ_CHECK(err.rfind("line ", 0) == 0 && err.find('\n') == std::string::npos, "a refusal is one line naming the line");
    return 0;
  }
  FUZZ_CHECK(doc.text == text, "the text is kept");
  FUZZ_CHECK(doc.defects.size() <= kMaxDefects, "defect limit");
  size_t last = 0;
  for (const Defect& d : doc.defects) {
    FUZZ_CHECK(d.images.size() <= kMaxImagesPerDefect, "image limit");
    if (d.has_class) {
      FUZZ_CHECK(inside(doc, d.class_value) && !d.class_value.empty() && d.class_value.begin >= last, "class span in order");
      last = d.class_value.end;
    }
    if (d.has_auto) FUZZ_CHECK(inside(doc, d.auto_value) && !d.auto_value.empty(), "auto span inside");
  }
  const ClassLookup& lk = doc.lookup;
  if (lk.count > 0) FUZZ_CHECK(inside(doc, lk.count_value) && lk.append_at <= text.size(), "lookup spans inside");
  else FUZZ_CHECK(lk.insert_at <= text.size(), "lookup insert point inside");

  std::string out;
  FUZZ_CHECK(write_klarf(doc, {}, out, err) && out == text, "an unchanged write gives the same bytes");

  ClassUpdate up;
  for (size_t i = 0; i < doc.defects.size(); ++i)
    if (doc.defects[i].has_class) up.defects.emplace_back(i, static_cast<int32_t>(100 + i % 3));
  if (lk.count <= 1) up.added = {{100, "scratch"}, {101, "par\"ticle"}};
  FUZZ_CHECK(write_klarf(doc, up, out, err), "a valid update is written");
  // A line grown past the limit by longer numbers is refused on reading back; nothing else may be.
  Document back;
  if (!read_klarf(out, opt, back, err)) {
    FUZZ_CHECK(err.find("longer than") != std::string::npos, "an updated file reads back");
    return 0;
  }
  FUZZ_CHECK(back.version == doc.version && back.defects.size() == doc.defects.size(), "same defects");
  for (size_t i = 0; i < doc.defects.size(); ++i) {
    const Defect &a = doc.defects[i], &b = back.defects[i];
    FUZZ_CHECK(a.has_class == b.has_class && a.has_auto == b.has_auto && a.images.size() == b.images.size() && a.id == b.id,
               "same columns and images");
    if (b.has_class) FUZZ_CHECK(back.bytes(b.class_value) == std::to_string(100 + i % 3), "class written");
    // The auto column is written with CLASSNUMBER only (a defect without CLASSNUMBER is not updated).
    if (b.has_auto && b.has_class) FUZZ_CHECK(back.bytes(b.auto_value) == std::to_string(100 + i % 3), "auto class written");
    if (b.has_auto && !b.has_class) FUZZ_CHECK(back.bytes(b.auto_value) == doc.bytes(a.auto_value), "auto class kept");
  }
  if (lk.count <= 1) {
    const auto& e = back.lookup.entries;
    FUZZ_CHECK(back.lookup.count == 1 && e.size() == lk.entries.size() + 2, "lookup extended");
    FUZZ_CHECK(e[e.size() - 2].number == 100 && e[e.size() - 2].name == "scratch" && e.back().number == 101 &&
                   e.back().name == "par_ticle",
               "added entries read back");
  }
  return 0;
}
