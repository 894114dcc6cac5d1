#include "tests/wafermap/wafer_text.h"

#include <cstdio>
#include <cstring>

namespace triage::test {

cli::DieGrid random_grid(std::mt19937& rng, uint32_t rows, uint32_t cols) {
  cli::DieGrid g;
  g.rows = rows;
  g.cols = cols;
  g.die.assign(size_t(rows) * cols, cli::kNoDie);
  const double cy = (rows - 1) / 2.0, cx = (cols - 1) / 2.0;
  std::uniform_int_distribution<int> fail(0, 99);
  const int fail_pct = static_cast<int>(rng() % 60) + 5;
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) {
      const double dy = (r - cy) / (rows / 2.0), dx = (c - cx) / (cols / 2.0);
      if (dy * dy + dx * dx <= 1.05) g.die[size_t(r) * cols + c] = fail(rng) < fail_pct ? cli::kFailDie : cli::kPassDie;
    }
  return g;
}

cli::DieGrid grid_of(const cli::Image& img) {
  cli::DieGrid g;
  g.rows = img.height;
  g.cols = img.width;
  for (uint32_t r = 0; r < img.height; ++r)
    g.die.insert(g.die.end(), img.bytes() + r * img.row_stride, img.bytes() + r * img.row_stride + img.width);
  return g;
}

cli::DieGrid turned(cli::DieGrid g, int q) {
  cli::rotate_ccw(g, q);
  return g;
}

std::string sinf_text(const cli::DieGrid& grid, uint32_t fnloc, std::mt19937& rng) {
  // The reader turns counter-clockwise by ((fnloc + 180) % 360) / 90: store the inverse turn.
  const int q = static_cast<int>(((fnloc + 180) % 360) / 90);
  const cli::DieGrid s = turned(grid, 4 - q);
  std::string t = "DEVICE:TEST\nLOT:L1\nWAFER:3\nFNLOC:" + std::to_string(fnloc) + "\nROWCT:" + std::to_string(s.rows) +
                  "\nCOLCT:" + std::to_string(s.cols) + "\nBCEQU:01 02\n";
  char b[8];
  for (uint32_t r = 0; r < s.rows; ++r) {
    t += "RowData:";
    for (uint32_t c = 0; c < s.cols; ++c) {
      const uint8_t v = s.die[size_t(r) * s.cols + c];
      if (v == cli::kNoDie) {
        t += rng() % 10 == 0 ? "@@" : "__";
      } else if (v == cli::kPassDie) {
        t += rng() % 2 ? "01" : "02";
      } else {
        std::snprintf(b, sizeof b, "%02X", static_cast<unsigned>(0x0B + rng() % (0xEF - 0x0B)));
        t += b;
      }
      t += c + 1 < s.cols ? " " : "";
    }
    t += "\n";
  }
  return t;
}

std::string e142_text(const cli::DieGrid& grid, uint32_t orientation, E142Type type, std::mt19937& rng, bool bottom_side) {
  // The reader mirrors (bottom side) and then turns counter-clockwise by orientation / 90.
  cli::DieGrid s = turned(grid, 4 - static_cast<int>(orientation / 90));
  if (bottom_side) cli::mirror_columns(s);
  const char* bt = type == E142Type::ascii ? "Ascii" : type == E142Type::hex ? "HexaDecimal" : type == E142Type::integer2 ? "Integer2" : "Decimal";
  // Codes per state: {null, skip} for no die, two pass codes, two fail codes.
  std::vector<std::string> nodie, pass, fail;
  switch (type) {
    case E142Type::ascii: nodie = {".", "S"}, pass = {"A", "b"}, fail = {"F", "7"}; break;
    case E142Type::hex: nodie = {"FF", "EE"}, pass = {"01", "0a"}, fail = {"3C", "B7"}; break;
    case E142Type::integer2: nodie = {"FFFF", "0EEE"}, pass = {"0001", "1234"}, fail = {"BEEF", "00C0"}; break;
    case E142Type::decimal: nodie = {"255", "254"}, pass = {"1", "002"}, fail = {"17", "300"}; break;
  }
  std::string t = "<?xml version=\"1.0\"?>\n<e142:MapData xmlns:e142=\"urn:semi-org:xsd.E142-1.V1005.SubstrateMap\">\n"
                  "<e142:Layouts><e142:Layout LayoutId=\"Die\"><e142:Dimension X=\"" + std::to_string(s.cols) +
                  "\" Y=\"" + std::to_string(s.rows) + "\"/></e142:Layout></e142:Layouts>\n"
                  "<e142:SubstrateMaps><e142:SubstrateMap SubstrateType=\"Wafer\" SubstrateId=\"W1\" LayoutSpecifier=\"Die\" "
                  "Orientation=\"" + std::to_string(orientation) + "\" OriginLocation=\"LowerLeft\" AxisDirection=\"UpRight\"" +
                  (bottom_side ? " SubstrateSide=\"BottomSide\"" : "") + ">\n<e142:Overlay MapName=\"Sort\">\n"
                  "<e142:BinCodeMap BinType=\"" + bt + "\" NullBin=\"" + nodie[0] + "\" MapType=\"2DArray\">\n<e142:BinDefinitions>\n";
  t += "<e142:BinDefinition BinCode=\"" + nodie[1] + "\" BinQuality=\"Skip\"/>\n";
  for (const auto& p : pass) t += "<e142:BinDefinition BinCode=\"" + p + "\" BinQuality=\"Pass\" BinCount=\"0\"/>\n";
  for (const auto& f : fail) t += "<e142:BinDefinition BinCode='" + f + "' BinQuality='fail'/>\n";
  t += "</e142:BinDefinitions>\n";
  for (uint32_t r = 0; r < s.rows; ++r) {
    t += "<e142:BinCode>";
    for (uint32_t c = 0; c < s.cols; ++c) {
      const uint8_t v = s.die[size_t(r) * s.cols + c];
      const auto& set = v == cli::kNoDie ? nodie : v == cli::kPassDie ? pass : fail;
      t += set[rng() % 2];
      if (type == E142Type::decimal && c + 1 < s.cols) t += " ";
    }
    t += "</e142:BinCode>\n";
  }
  t += "</e142:BinCodeMap>\n</e142:Overlay>\n</e142:SubstrateMap></e142:SubstrateMaps>\n</e142:MapData>\n";
  return t;
}

std::string npy_bytes(const cli::DieGrid& g) {
  std::string h = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + std::to_string(g.rows) + ", " +
                  std::to_string(g.cols) + "), }";
  h += std::string(63 - (10 + h.size()) % 64, ' ') + "\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xFF);
  out += static_cast<char>(h.size() >> 8);
  out += h;
  out.append(reinterpret_cast<const char*>(g.die.data()), g.die.size());
  return out;
}

}  // namespace triage::test
