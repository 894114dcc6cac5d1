// SEMI E142 substrate maps (XML) as wafer die grids. Read: the root <MapData>, the <Layout>s'
// <Dimension X= Y=>, and exactly one <SubstrateMap> holding one <Overlay><BinCodeMap> (MapType 2DArray)
// with its <BinDefinitions> and one <BinCode> element per row. Element names match without their
// namespace prefix, so any revision of the schema reads the same.
//   BinType   Ascii (1 character a die), HexaDecimal (2 hex digits), Integer2 (4 hex digits), Decimal
//             (whitespace-separated numbers); hex codes may be separated by whitespace, Ascii ones not.
//   states    NullBin and bins of quality Null, Skip, Untested, NotTested, Reference, Edge -> no die;
//             Pass -> pass; Fail -> fail; a die whose bin has no definition or another quality: refused.
//   picture   the rows as written, first <BinCode> at the top (OriginLocation / AxisDirection number
//             the dies and are checked, not applied); SubstrateSide="BottomSide" is mirrored left-right;
//             then the grid turns counter-clockwise by Orientation (the notch, degrees clockwise from
//             the bottom: 0 bottom, 90 left, 180 top, 270 right) so that the notch is at the bottom.
// docs/wafer-map-formats.md has the rules with examples.
#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

#include "tools/cli/image_common.h"
#include "tools/cli/wafermap_io.h"
#include "tools/cli/xml_subset.h"

namespace triage::cli {
namespace {

using detail::fail;

enum class BinType { ascii, hex2, hex4, decimal };

bool line_fail(std::string& err, size_t line, const std::string& msg) {
  return fail(err, "E142 line " + std::to_string(line) + ": " + msg);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

std::string shown(std::string_view s) { return std::string(s.substr(0, 24)); }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A bin code as written in a BinDefinition / NullBin, as the key the rows' codes are looked up by.
bool parse_code(BinType t, std::string_view s, uint32_t& out) {
  s = trim(s);
  switch (t) {
    case BinType::ascii:
      if (s.size() != 1) return false;
      out = static_cast<unsigned char>(s[0]);
      return true;
    case BinType::decimal:
      return parse_decimal(s, 65535, out);
    case BinType::hex2:
    case BinType::hex4: {
      const size_t w = t == BinType::hex2 ? 2 : 4;
      if (s.empty() || s.size() > w) return false;
      uint32_t v = 0;
      for (char c : s) {
        const int d = hex_digit(c);
        if (d < 0) return false;
        v = v * 16 + static_cast<uint32_t>(d);
      }
      out = v;
      return true;
    }
  }
  return false;
}

// The codes of one <BinCode> row.
bool parse_row(BinType t, std::string_view row, std::vector<uint32_t>& codes, std::string& why) {
  codes.clear();
  row = trim(row);
  size_t i = 0;
  while (i < row.size()) {
    if (codes.size() == kMaxWaferMapSide) {
      why = "more than " + std::to_string(kMaxWaferMapSide) + " dies in a row";
      return false;
    }
    if (t == BinType::ascii) {
      if (is_ws(row[i])) {
        why = "whitespace inside an Ascii row (one character a die, no separators)";
        return false;
      }
      codes.push_back(static_cast<unsigned char>(row[i++]));
      continue;
    }
    while (i < row.size() && is_ws(row[i])) ++i;
    if (i >= row.size()) break;
    if (t == BinType::decimal) {
      size_t e = i;
      while (e < row.size() && !is_ws(row[e])) ++e;
      uint32_t v = 0;
      if (!parse_decimal(row.substr(i, e - i), 65535, v)) {
        why = shown(row.substr(i, e - i));  // (built in steps: GCC 12 warns falsely on "'" + std::string&&)
        why.insert(why.begin(), '\'');
        why += "' is not a decimal bin code 0..65535";
        return false;
      }
      codes.push_back(v);
      i = e;
    } else {
      const size_t w = t == BinType::hex2 ? 2 : 4;
      uint32_t v = 0;
      for (size_t k = 0; k < w; ++k) {
        const int d = i + k < row.size() ? hex_digit(row[i + k]) : -1;
        if (d < 0) {
          why = "die " + std::to_string(codes.size() + 1) + ": '" + shown(row.substr(i, w)) + "' is not " +
                std::to_string(w) + " hex digits";
          return false;
        }
        v = v * 16 + static_cast<uint32_t>(d);
      }
      codes.push_back(v);
      i += w;
    }
  }
  return true;
}

std::string code_text(BinType t, uint32_t c) {
  if (t == BinType::ascii) {
    if (c < 0x21 || c > 0x7e) return "byte " + std::to_string(c);
    return std::string(1, static_cast<char>(c));
  }
  if (t == BinType::decimal) return std::to_string(c);
  char b[16];
  std::snprintf(b, sizeof b, t == BinType::hex2 ? "%02X" : "%04X", c);
  return b;
}

struct BinDef {
  std::string quality;  // as written; empty: no BinQuality
  size_t line = 0;
};

// The die state of a BinQuality; -1 for one this reader has no rule for.
int quality_state(std::string_view q) {
  if (iequals(q, "Pass")) return kPassDie;
  if (iequals(q, "Fail")) return kFailDie;
  for (const char* n : {"Null", "Skip", "Untested", "NotTested", "Reference", "Edge"})
    if (iequals(q, n)) return kNoDie;
  return -1;
}

struct Row {
  size_t line = 0;
  std::string text;
};

}  // namespace

bool looks_like_e142(std::span<const uint8_t> file) {
  std::string_view t(reinterpret_cast<const char*>(file.data()), file.size());
  if (t.substr(0, 3) == "\xEF\xBB\xBF") t.remove_prefix(3);
  while (!t.empty() && is_ws(t.front())) t.remove_prefix(1);
  return !t.empty() && t.front() == '<' && t.substr(0, 64 * 1024).find("MapData") != std::string_view::npos;
}

bool decode_e142(std::span<const uint8_t> file, Image& out, std::string& err) {
  if (file.size() > kMaxWaferMapBytes)
    return fail(err, "E142: file of " + std::to_string(file.size()) + " bytes exceeds the " +
                         std::to_string(kMaxWaferMapBytes) + " byte wafer map cap");
  xml::Reader reader({reinterpret_cast<const char*>(file.data()), file.size()});
  xml::Event ev;
  std::vector<std::string> path;  // local names of the open elements
  std::map<std::string, std::pair<std::string, std::string>> dims;  // LayoutId -> Dimension X, Y
  std::string layout_id, spec, orientation = "0", origin, axis, side, map_type;
  size_t maps = 0, bin_maps = 0, map_line = 0;
  bool in_bin_map = false, in_row = false;  // inside the BinCodeMap read / one of its BinCode rows
  size_t bin_map_depth = 0;
  BinType type = BinType::ascii;
  bool have_null = false;
  uint32_t null_code = 0;
  std::map<uint32_t, BinDef> defs;
  std::vector<Row> rows;
  std::map<std::string, std::string> map_attrs;  // of the current SubstrateMap
  const auto parent = [&](size_t up) -> std::string_view {
    return path.size() > up ? std::string_view(path[path.size() - 1 - up]) : std::string_view();
  };
  for (;;) {
    if (!reader.next(ev, err)) return fail(err, "E142 " + err);
    if (ev.kind == xml::Event::End) break;
    if (ev.kind == xml::Event::Text) {
      if (in_row) {
        if (rows.back().text.size() + ev.text.size() > kMaxWaferMapLine)
          return line_fail(err, ev.line, "a BinCode row longer than " + std::to_string(kMaxWaferMapLine) + " bytes");
        rows.back().text += ev.text;
      }
      continue;
    }
    if (ev.kind == xml::Event::Close) {
      if (ev.name == "BinCode" && in_row) in_row = false;
      if (in_bin_map && path.size() == bin_map_depth) in_bin_map = false;
      path.pop_back();
      continue;
    }
    // Open
    if (in_row) return line_fail(err, ev.line, "element <" + ev.name + "> inside a BinCode row");
    if (path.empty() && ev.name != "MapData")
      return line_fail(err, ev.line, "the root element is <" + ev.name + ">, not <MapData> (not a SEMI E142 map)");
    const std::string up(parent(0)), up2(parent(1));  // copies: push_back may move the strings
    path.push_back(ev.name);
    const auto attr = [&](const char* n) -> std::string {
      const std::string* v = ev.attribute(n);
      return v ? std::string(trim(*v)) : std::string();
    };
    if (ev.name == "Layout" && up == "Layouts") {
      layout_id = attr("LayoutId");
    } else if (ev.name == "Dimension" && up == "Layout") {
      if (dims.size() == kMaxWaferMapBins) return line_fail(err, ev.line, "too many layouts");
      dims[layout_id] = {attr("X"), attr("Y")};
    } else if (ev.name == "SubstrateMap" && up == "SubstrateMaps") {
      ++maps;
      map_attrs.clear();
      for (const xml::Attribute& a : ev.attributes) map_attrs[a.name] = std::string(trim(a.value));
      map_line = ev.line;
    } else if (ev.name == "BinCodeMap" && up == "Overlay" && up2 == "SubstrateMap") {
      if (++bin_maps > 1)
        return line_fail(err, ev.line, "a second BinCodeMap: one substrate map (one wafer) per file is read");
      spec = map_attrs["LayoutSpecifier"];
      if (map_attrs.count("Orientation")) orientation = map_attrs["Orientation"];
      origin = map_attrs["OriginLocation"];
      axis = map_attrs["AxisDirection"];
      side = map_attrs["SubstrateSide"];
      const std::string stype = map_attrs["SubstrateType"];
      if (!stype.empty() && !iequals(stype, "Wafer"))
        return line_fail(err, map_line, "SubstrateType '" + shown(stype) + "' is not a wafer");
      const std::string bt = attr("BinType");
      if (iequals(bt, "Ascii")) type = BinType::ascii;
      else if (iequals(bt, "HexaDecimal")) type = BinType::hex2;
      else if (iequals(bt, "Integer2")) type = BinType::hex4;
      else if (iequals(bt, "Decimal")) type = BinType::decimal;
      else
        return line_fail(err, ev.line, "BinType '" + shown(bt) + "' is not Ascii, HexaDecimal, Integer2 or Decimal");
      in_bin_map = true;
      bin_map_depth = path.size();
      if (const std::string* nb = ev.attribute("NullBin")) {
        if (!parse_code(type, *nb, null_code))
          return line_fail(err, ev.line, "NullBin '" + shown(*nb) + "' is not a " + bt + " bin code");
        have_null = true;
      }
      map_type = attr("MapType");
      if (!map_type.empty() && !iequals(map_type, "2DArray"))
        return line_fail(err, ev.line, "MapType '" + shown(map_type) + "' is not read (2DArray only)");
    } else if (ev.name == "BinDefinition" && up == "BinDefinitions" && up2 == "BinCodeMap" && in_bin_map) {
      const std::string* code = ev.attribute("BinCode");
      uint32_t c = 0;
      if (!code || !parse_code(type, *code, c))
        return line_fail(err, ev.line, "BinDefinition without a valid BinCode ('" + shown(code ? *code : "") + "')");
      const std::string q = attr("BinQuality");
      auto it = defs.find(c);
      if (it == defs.end()) {
        if (defs.size() == kMaxWaferMapBins)
          return line_fail(err, ev.line, "more than " + std::to_string(kMaxWaferMapBins) + " bin definitions");
        defs[c] = {q, ev.line};
      } else if (!q.empty()) {
        if (!it->second.quality.empty() && !iequals(it->second.quality, q))
          return line_fail(err, ev.line, "bin '" + code_text(type, c) + "' defined again with BinQuality '" + shown(q) +
                                             "' (line " + std::to_string(it->second.line) + " says '" +
                                             shown(it->second.quality) + "')");
        it->second = {q, ev.line};
      }
    } else if (ev.name == "BinCode" && up == "BinCodeMap" && in_bin_map) {
      if (rows.size() == kMaxWaferMapSide)
        return line_fail(err, ev.line, "more than " + std::to_string(kMaxWaferMapSide) + " rows");
      rows.push_back({ev.line, {}});
      in_row = true;
    }
  }
  if (maps == 0 || bin_maps == 0) return fail(err, "E142: no SubstrateMap with an Overlay holding a BinCodeMap");
  if (rows.empty()) return fail(err, "E142: the BinCodeMap has no BinCode rows");

  // The orientation attributes: checked, then applied (see the top of the file).
  std::string o = orientation;
  if (const size_t dot = o.find('.'); dot != std::string::npos && o.find_first_not_of('0', dot + 1) == std::string::npos)
    o.resize(dot);  // "180.0"
  uint32_t deg = 0;
  if (!parse_decimal(o, 359, deg) || deg % 90 != 0)
    return line_fail(err, map_line, "Orientation '" + shown(orientation) + "' is not 0, 90, 180 or 270");
  static const char* kOrigins[] = {"LowerLeft", "LowerRight", "UpperLeft", "UpperRight", "Center"};
  static const char* kAxes[] = {"UpRight", "DownRight", "UpLeft", "DownLeft"};
  if (!origin.empty() && std::none_of(std::begin(kOrigins), std::end(kOrigins), [&](const char* n) { return iequals(origin, n); }))
    return line_fail(err, map_line, "OriginLocation '" + shown(origin) + "' is not LowerLeft, LowerRight, UpperLeft, UpperRight or Center");
  if (!axis.empty() && std::none_of(std::begin(kAxes), std::end(kAxes), [&](const char* n) { return iequals(axis, n); }))
    return line_fail(err, map_line, "AxisDirection '" + shown(axis) + "' is not UpRight, DownRight, UpLeft or DownLeft");
  if (!side.empty() && !iequals(side, "TopSide") && !iequals(side, "BottomSide"))
    return line_fail(err, map_line, "SubstrateSide '" + shown(side) + "' is not TopSide or BottomSide");

  // Expected size: the Dimension of the layout the map names (its last path component), when given.
  uint32_t want_x = 0, want_y = 0;
  const std::string leaf = spec.substr(spec.rfind('/') == std::string::npos ? 0 : spec.rfind('/') + 1);
  if (auto it = dims.find(leaf); !spec.empty() && it != dims.end()) {
    if (!parse_decimal(it->second.first, kMaxWaferMapSide, want_x) || !parse_decimal(it->second.second, kMaxWaferMapSide, want_y) ||
        want_x == 0 || want_y == 0)
      return fail(err, "E142: layout '" + shown(leaf) + "' has a Dimension outside 1.." + std::to_string(kMaxWaferMapSide));
  }
  if (want_y && rows.size() != want_y)
    return fail(err, "E142: " + std::to_string(rows.size()) + " BinCode rows, layout '" + shown(leaf) + "' has Dimension Y=" +
                         std::to_string(want_y));

  DieGrid g;
  std::vector<uint32_t> codes;
  std::string why;
  std::map<uint32_t, int> state;  // code -> die state, for the defined codes
  for (const auto& [c, d] : defs) state[c] = d.quality.empty() ? -2 : quality_state(d.quality);
  for (const Row& r : rows) {
    if (!parse_row(type, r.text, codes, why)) return line_fail(err, r.line, why);
    if (codes.empty()) return line_fail(err, r.line, "an empty BinCode row");
    if (g.rows == 0) g.cols = static_cast<uint32_t>(codes.size());
    if (codes.size() != (want_x ? want_x : g.cols))
      return line_fail(err, r.line, "row of " + std::to_string(codes.size()) + " dies, " +
                                        (want_x ? "layout Dimension X=" + std::to_string(want_x) : "the first row has " + std::to_string(g.cols)));
    for (size_t x = 0; x < codes.size(); ++x) {
      const uint32_t c = codes[x];
      if (have_null && c == null_code) {
        g.die.push_back(kNoDie);
        continue;
      }
      const auto it = state.find(c);
      if (it == state.end())
        return line_fail(err, r.line, "die " + std::to_string(x + 1) + " has bin '" + code_text(type, c) + "', which has no BinDefinition");
      if (it->second == -2)
        return line_fail(err, r.line, "bin '" + code_text(type, c) + "' (defined on line " + std::to_string(defs[c].line) +
                                          ") has no BinQuality");
      if (it->second < 0)
        return line_fail(err, r.line, "bin '" + code_text(type, c) + "' has BinQuality '" + shown(defs[c].quality) +
                                          "' (Pass, Fail, Null, Skip, Untested, NotTested, Reference, Edge are read)");
      g.die.push_back(static_cast<uint8_t>(it->second));
    }
    ++g.rows;
  }
  if (iequals(side, "BottomSide")) mirror_columns(g);
  rotate_ccw(g, static_cast<int>(deg / 90));
  if (!grid_to_image(g, out, err)) return fail(err, "E142: " + err);
  return true;
}

}  // namespace triage::cli
