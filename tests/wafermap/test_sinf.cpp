// The SINF reader: the sample as the .npy grid, random maps at every flat position, the bin rules,
// and malformed files refused with a one-line message naming the line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/wafermap/wafer_text.h"

namespace triage::test {
namespace {

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::string sample(const std::string& name) {
  std::ifstream in(std::string(TRIAGE_SOURCE_DIR) + "/tests/wafermap/samples/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

cli::DieGrid decode(const std::string& text) {
  cli::Image img;
  std::string err;
  EXPECT_TRUE(cli::decode_sinf(bytes(text), img, err)) << err;
  EXPECT_EQ(img.channels, 1u);
  EXPECT_EQ(img.pixel, TRIAGE_PIXEL_U8);
  return grid_of(img);
}

std::string refusal(const std::string& text) {
  cli::Image img;
  std::string err;
  EXPECT_FALSE(cli::decode_sinf(bytes(text), img, err)) << text.substr(0, 200);
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  return err;
}

TEST(Sinf, SampleDecodesToTheNpyGrid) {
  const std::string text = sample("synthetic_center.sinf");
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(cli::looks_like_sinf(bytes(text)));
  cli::Image s, n;
  std::string err;
  ASSERT_TRUE(cli::decode_image(bytes(text), s, err)) << err;  // found by content
  ASSERT_TRUE(cli::decode_npy(bytes(sample("synthetic_center.npy")), n, err)) << err;
  ASSERT_EQ(s.height, 31u);
  ASSERT_EQ(s.width, 33u);
  EXPECT_EQ(grid_of(s).die, grid_of(n).die);
  size_t counts[3] = {0, 0, 0};
  for (uint8_t v : grid_of(s).die) ++counts[v];
  EXPECT_GT(counts[1], 300u);  // a real mix, not an empty grid
  EXPECT_GT(counts[2], 60u);
}

TEST(Sinf, RandomMapsAtEveryFlatPosition) {
  std::mt19937 rng(20261202);
  for (int i = 0; i < 24; ++i) {
    const uint32_t rows = 3 + rng() % 70, cols = 3 + rng() % 70;
    const cli::DieGrid g = random_grid(rng, rows, cols);
    for (uint32_t fnloc : {0u, 90u, 180u, 270u}) {
      const cli::DieGrid d = decode(sinf_text(g, fnloc, rng));
      EXPECT_EQ(d.rows, g.rows) << fnloc;
      EXPECT_EQ(d.cols, g.cols) << fnloc;
      EXPECT_EQ(d.die, g.die) << "map " << i << " FNLOC " << fnloc;
    }
  }
}

TEST(Sinf, FlatPositionTurnsTheMap) {
  // One fail die in the top-left corner of the file; where it lands says how the map was turned.
  const std::string rows = "RowData:0B 01 01\nRowData:01 01 01\n";
  const auto at = [&](const std::string& fnloc) {
    const cli::DieGrid d = decode(fnloc + rows);
    for (size_t i = 0; i < d.die.size(); ++i)
      if (d.die[i] == cli::kFailDie) return std::make_pair(uint32_t(i / d.cols), uint32_t(i % d.cols));
    return std::make_pair(99u, 99u);
  };
  EXPECT_EQ(at("FNLOC:180\n"), std::make_pair(0u, 0u));  // flat at the bottom: as written
  EXPECT_EQ(at(""), std::make_pair(0u, 0u));             // no FNLOC: as written
  EXPECT_EQ(at("FNLOC:0\n"), std::make_pair(1u, 2u));    // flat at the top: half a turn
  EXPECT_EQ(at("FNLOC:90\n"), std::make_pair(0u, 1u));   // flat on the right: a clockwise quarter turn
  EXPECT_EQ(at("FNLOC:270\n"), std::make_pair(2u, 0u));  // flat on the left: a counter-clockwise quarter turn
  EXPECT_EQ(decode("FNLOC:90\n" + rows).rows, 3u);
}

TEST(Sinf, BinRules) {
  const cli::DieGrid d = decode(
      "DEVICE:X\nBCEQU:01,0a 7\nRowData:01 0A 07 7 0b __ @@ FD FE FF 1f\n");
  EXPECT_EQ(d.die, (std::vector<uint8_t>{1, 1, 1, 1, 2, 0, 0, 0, 0, 0, 2}));
  // Without BCEQU (or blank) only 01 is good.
  EXPECT_EQ(decode("RowData:01 02 00 __\n").die, (std::vector<uint8_t>{1, 2, 2, 0}));
  EXPECT_EQ(decode("BCEQU:\nRowData:01 02\n").die, (std::vector<uint8_t>{1, 2}));
  // A reference code listed in BCEQU is a good die.
  EXPECT_EQ(decode("BCEQU:01 FF\nRowData:FF FE\n").die, (std::vector<uint8_t>{1, 0}));
  // Unknown header keys, blank lines, CRLF and a BOM are fine.
  EXPECT_EQ(decode("\xEF\xBB\xBFWAFERSIZE:300\r\n\r\nCOMMENT: a b : c\r\nRowData:01  0B\t01 \r\n").die,
            (std::vector<uint8_t>{1, 2, 1}));
}

TEST(Sinf, MalformedFilesAreRefusedNamingTheLine) {
  const std::string big_row = "RowData:" + [] {
    std::string s;
    for (int i = 0; i < 4097; ++i) s += "01 ";
    return s;
  }() + "\n";
  std::string many_rows;
  for (int i = 0; i < 4097; ++i) many_rows += "RowData:01\n";
  const std::pair<std::string, std::string> cases[] = {
      {"DEVICE:X\nLOT:Y\n", "SINF: no RowData lines"},
      {"RowData:01 01 01\nRowData:01 01\n", "SINF line 2: row of 2 dies, the first row has 3"},
      {"ROWCT:3\nRowData:01\nRowData:01\n", "ROWCT says 3 rows, the file has 2"},
      {"COLCT:2\nRowData:01 01 01\n", "COLCT says 2 columns, the rows have 3"},
      {"RowData:01 0G\n", "SINF line 1: die 2: bin code '0G' is not 1-4 hex digits"},
      {"RowData:01 12345\n", "die 2: bin code '12345'"},
      {"ROWCT:99999999999999999999\nRowData:01\n", "SINF line 1: ROWCT '9999999999999999' is not a count 1..4096"},
      {"COLCT:0\nRowData:01\n", "COLCT '0' is not a count"},
      {"COLCT:-3\nRowData:01\n", "COLCT '-3' is not a count"},
      {"FNLOC:45\nRowData:01\n", "SINF line 1: FNLOC '45' is not 0, 90, 180 or 270"},
      {"FNLOC:\nRowData:01\n", "FNLOC '' is not 0, 90, 180 or 270"},
      {"BCEQU:01\nBCEQU:02\nRowData:01\n", "SINF line 2: BCEQU given twice"},
      {"BCEQU:01 XYZ\nRowData:01\n", "BCEQU code 'XYZ' is not 1-4 hex digits"},
      {"RowData:01\nFNLOC:0\n", "SINF line 2: FNLOC after the first RowData line"},
      {"DEVICE:X\njust text\nRowData:01\n", "SINF line 2: expected KEY:value"},
      {"DEVICE:X\n:01\n", "SINF line 2: expected KEY:value"},
      {"RowData:\n", "SINF line 1: RowData holds no dies"},
      {std::string("RowData:01\0 01\n", 15), "SINF line 1: NUL byte"},
      {big_row, "SINF line 1: more than 4096 dies in a row"},
      {many_rows, "SINF line 4097: more than 4096 rows"},
      {"RowData:" + std::string(cli::kMaxWaferMapLine, '0') + "\n", "SINF line 1: line longer than"},
  };
  for (const auto& [text, want] : cases) {
    const std::string err = refusal(text);
    EXPECT_NE(err.find(want), std::string::npos) << "got: " << err << "\nwant: " << want;
  }
  const std::string huge(cli::kMaxWaferMapBytes + 1, ' ');
  EXPECT_NE(refusal(huge).find("exceeds the 67108864 byte wafer map cap"), std::string::npos);
}

TEST(Sinf, SniffingAndNames) {
  EXPECT_TRUE(cli::looks_like_sinf(bytes("\n\nDEVICE:A\nRowData:01\n")));
  EXPECT_TRUE(cli::looks_like_sinf(bytes("RowData:01\n")));
  EXPECT_FALSE(cli::looks_like_sinf(bytes("DEVICE:A\nROWCT:1\n")));       // no rows
  EXPECT_FALSE(cli::looks_like_sinf(bytes("path,label\na.png,x\nRowData:")));  // not a KEY: line first
  EXPECT_TRUE(cli::is_image_name("lot1_w07.SINF"));
  EXPECT_TRUE(cli::is_image_name("map.xml"));
  EXPECT_TRUE(cli::is_image_name("map.e142"));
  cli::Image img;
  std::string err;
  EXPECT_FALSE(cli::decode_image(bytes("hello world"), img, err));
  EXPECT_NE(err.find("SINF / SEMI E142 wafer maps"), std::string::npos) << err;
}

}  // namespace
}  // namespace triage::test
