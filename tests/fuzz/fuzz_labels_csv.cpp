// Fuzz target for the labelled-data CSV parser (tools/cli/dataset.cpp: what triage calibrate, eval and
// adapt read). Invariants: a refusal has a one-line printable message; a success lists at least one
// image with a non-empty path and a label within kMaxLabelBytes, in increasing line order; parsing is
// deterministic; and the rows written back as a fully quoted CSV parse to the same rows.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/cli/dataset.h"

#define TRIAGE_FUZZ_TARGET "fuzz_labels_csv"
#include "tests/fuzz/fuzz_check.h"

namespace {

using triage::cli::LabelledFile;

std::string quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

bool one_printable_line(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<LabelledFile> a, b;
  std::string ea, eb;
  const bool ok = triage::cli::parse_labels_csv(text, "fuzz.csv", "", a, ea);
  FUZZ_CHECK(ok == triage::cli::parse_labels_csv(text, "fuzz.csv", "", b, eb), "deterministic");
  if (!ok) {
    FUZZ_CHECK(one_printable_line(ea) && ea == eb, "refusal message");
    return 0;
  }
  FUZZ_CHECK(!a.empty() && a.size() == b.size(), "rows listed");
  size_t last = 0;
  std::string again = "path,label\n";
  for (size_t i = 0; i < a.size(); ++i) {
    FUZZ_CHECK(!a[i].path.empty() && !a[i].label.empty(), "non-empty fields");
    FUZZ_CHECK(a[i].label.size() <= triage::cli::kMaxLabelBytes, "label cap");
    FUZZ_CHECK(a[i].line > last, "line order");
    FUZZ_CHECK(a[i].path == b[i].path && a[i].label == b[i].label, "deterministic rows");
    last = a[i].line;
    again += quoted(a[i].path) + "," + quoted(a[i].label) + "\n";
  }
  // A field holding a line end cannot be written back on one line (the parser refuses those): only
  // check the round trip when none does.
  if (again.find('\r') != std::string::npos || std::count(again.begin(), again.end(), '\n') != static_cast<long>(a.size() + 1))
    return 0;
  std::vector<LabelledFile> c;
  std::string ec;
  FUZZ_CHECK(triage::cli::parse_labels_csv(again, "again.csv", "", c, ec), "round trip parses");
  FUZZ_CHECK(c.size() == a.size(), "round trip count");
  for (size_t i = 0; i < a.size(); ++i) FUZZ_CHECK(c[i].path == a[i].path && c[i].label == a[i].label, "round trip rows");
  return 0;
}
