// SINF wafer maps (Simplified Integrator Nested Format, the text map a prober / tester writes): header
// lines `KEY:value`, then one `RowData:` line per row of the map, bin codes separated by spaces.
//   DEVICE:, LOT:, WAFER:, ...   identification, kept out of the grid (unknown keys are ignored)
//   FNLOC:180                    flat / notch location, degrees clockwise from the top: 0 top, 90 right,
//                                180 bottom, 270 left (absent: taken as already at the bottom)
//   ROWCT:62  COLCT:63           rows and columns (optional; when present the RowData must match)
//   BCEQU:01 02                  the good bin codes, space or comma separated (absent or blank: 01)
//   RowData:__ __ 01 0B ...      hex codes of 1..4 digits; `__` no die, `@@` untested
// Die states: `__`, `@@` -> no die; a code in BCEQU -> pass; FD, FE (edge die) and FF (reference die)
// -> no die unless BCEQU lists them; any other code -> fail. Then the grid is turned so that the flat
// is at the bottom (docs/wafer-map-formats.md).
#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>

#include "tools/cli/image_common.h"
#include "tools/cli/wafermap_io.h"

namespace triage::cli {
namespace {

using detail::fail;

bool line_fail(std::string& err, size_t line, const std::string& msg) {
  return fail(err, "SINF line " + std::to_string(line) + ": " + msg);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// A header key: a letter, then letters, digits or '_', at most 32 characters.
bool is_key(std::string_view k) {
  if (k.empty() || k.size() > 32 || !std::isalpha(static_cast<unsigned char>(k[0]))) return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A bin code: 1..4 hex digits.
bool parse_code(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 4) return false;
  uint32_t v = 0;
  for (char c : s) {
    const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                              : -1;
    if (d < 0) return false;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  out = v;
  return true;
}

bool all_of_char(std::string_view s, char ch) {
  return !s.empty() && s.size() <= 4 && std::all_of(s.begin(), s.end(), [ch](char c) { return c == ch; });
}

std::string_view skip_bom_and_blank(std::span<const uint8_t> file) {
  std::string_view t(reinterpret_cast<const char*>(file.data()), file.size());
  if (t.substr(0, 3) == "\xEF\xBB\xBF") t.remove_prefix(3);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t' || t.front() == '\r' || t.front() == '\n')) t.remove_prefix(1);
  return t;
}

}  // namespace

bool looks_like_sinf(std::span<const uint8_t> file) {
  const std::string_view t = skip_bom_and_blank(file);
  const size_t colon = t.substr(0, 40).find(':');
  if (colon == std::string_view::npos || !is_key(t.substr(0, colon))) return false;
  return t.substr(0, 8) == "RowData:" || t.find("\nRowData:") != std::string_view::npos;
}

bool decode_sinf(std::span<const uint8_t> file, Image& out, std::string& err) {
  if (file.size() > kMaxWaferMapBytes)
    return fail(err, "SINF: file of " + std::to_string(file.size()) + " bytes exceeds the " +
                         std::to_string(kMaxWaferMapBytes) + " byte wafer map cap");
  std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  DieGrid g;
  std::vector<uint32_t> codes;  // the rows' codes, row-major, with the special tokens below
  constexpr uint32_t kTokNoDie = 0x10000, kTokUntested = 0x10001;
  uint32_t rowct = 0, colct = 0, fnloc = 180;
  bool have_rowct = false, have_colct = false, have_bcequ = false;
  std::set<uint32_t> good;
  std::set<std::string> seen_keys;
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.size() > kMaxWaferMapLine)
      return line_fail(err, line_no, "line longer than " + std::to_string(kMaxWaferMapLine) + " bytes");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos) return line_fail(err, line_no, "NUL byte (not a text file?)");
    if (trim(line).empty()) continue;
    const size_t colon = line.find(':');
    const std::string_view key = colon == std::string_view::npos ? std::string_view() : trim(line.substr(0, colon));
    if (!is_key(key)) return line_fail(err, line_no, "expected KEY:value or RowData:...");
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(key, "RowData")) {
      if (g.rows == kMaxWaferMapSide)
        return line_fail(err, line_no, "more than " + std::to_string(kMaxWaferMapSide) + " rows");
      uint32_t n = 0;
      size_t p = 0;
      while (p < value.size()) {
        while (p < value.size() && is_space(value[p])) ++p;
        if (p >= value.size()) break;
        size_t q = p;
        while (q < value.size() && !is_space(value[q])) ++q;
        const std::string_view tok = value.substr(p, q - p);
        p = q;
        if (++n > kMaxWaferMapSide)
          return line_fail(err, line_no, "more than " + std::to_string(kMaxWaferMapSide) + " dies in a row");
        uint32_t code = 0;
        if (all_of_char(tok, '_')) code = kTokNoDie;
        else if (all_of_char(tok, '@')) code = kTokUntested;
        else if (!parse_code(tok, code))
          return line_fail(err, line_no, "die " + std::to_string(n) + ": bin code '" + std::string(tok.substr(0, 16)) +
                                             "' is not 1-4 hex digits, __ or @@");
        codes.push_back(code);
      }
      if (n == 0) return line_fail(err, line_no, "RowData holds no dies");
      if (g.rows == 0) g.cols = n;
      else if (n != g.cols)
        return line_fail(err, line_no, "row of " + std::to_string(n) + " dies, the first row has " + std::to_string(g.cols));
      ++g.rows;
      continue;
    }
    // Header keys: the ones that shape the grid may appear once.
    std::string upper(key);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    const bool shaping = upper == "ROWCT" || upper == "COLCT" || upper == "FNLOC" || upper == "BCEQU";
    if (shaping && !seen_keys.insert(upper).second) return line_fail(err, line_no, upper + " given twice");
    if (shaping && g.rows) return line_fail(err, line_no, upper + " after the first RowData line");
    if (upper == "ROWCT" || upper == "COLCT") {
      uint32_t v = 0;
      if (!parse_decimal(value, kMaxWaferMapSide, v) || v == 0)
        return line_fail(err, line_no, upper + " '" + std::string(value.substr(0, 16)) + "' is not a count 1.." +
                                           std::to_string(kMaxWaferMapSide));
      (upper == "ROWCT" ? rowct : colct) = v;
      (upper == "ROWCT" ? have_rowct : have_colct) = true;
    } else if (upper == "FNLOC") {
      if (!parse_decimal(value, 359, fnloc) || fnloc % 90 != 0)
        return line_fail(err, line_no, "FNLOC '" + std::string(value.substr(0, 16)) + "' is not 0, 90, 180 or 270");
    } else if (upper == "BCEQU") {
      have_bcequ = true;
      size_t p = 0;
      while (p < value.size()) {
        while (p < value.size() && (is_space(value[p]) || value[p] == ',')) ++p;
        if (p >= value.size()) break;
        size_t q = p;
        while (q < value.size() && !is_space(value[q]) && value[q] != ',') ++q;
        uint32_t code = 0;
        if (!parse_code(value.substr(p, q - p), code))
          return line_fail(err, line_no, "BCEQU code '" + std::string(value.substr(p, std::min<size_t>(q - p, 16))) +
                                             "' is not 1-4 hex digits");
        if (good.size() == kMaxWaferMapBins)
          return line_fail(err, line_no, "more than " + std::to_string(kMaxWaferMapBins) + " good bin codes");
        good.insert(code);
        p = q;
      }
    }
  }
  if (g.rows == 0) return fail(err, "SINF: no RowData lines");
  if (have_rowct && rowct != g.rows)
    return fail(err, "SINF: ROWCT says " + std::to_string(rowct) + " rows, the file has " + std::to_string(g.rows));
  if (have_colct && colct != g.cols)
    return fail(err, "SINF: COLCT says " + std::to_string(colct) + " columns, the rows have " + std::to_string(g.cols));
  if (!have_bcequ || good.empty()) good.insert(0x01);  // the format's default good bin

  g.die.resize(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    const uint32_t c = codes[i];
    if (c == kTokNoDie || c == kTokUntested) g.die[i] = kNoDie;
    else if (good.count(c)) g.die[i] = kPassDie;
    else if (c == 0xFD || c == 0xFE || c == 0xFF) g.die[i] = kNoDie;  // edge / reference die: not a product die
    else g.die[i] = kFailDie;
  }
  // Flat at FNLOC degrees clockwise from the top; the bottom is 180: turn counter-clockwise by the rest.
  rotate_ccw(g, static_cast<int>(((fnloc + 180) % 360) / 90));
  if (!grid_to_image(g, out, err)) return fail(err, "SINF: " + err);
  return true;
}

}  // namespace triage::cli
