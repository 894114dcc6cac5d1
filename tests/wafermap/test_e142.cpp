// The SEMI E142 reader: the samples as the .npy grid, random maps for every bin type and notch
// position (and the bottom side), the bin rules, and malformed files refused naming the line.
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
  EXPECT_TRUE(cli::decode_e142(bytes(text), img, err)) << err;
  return grid_of(img);
}

std::string refusal(const std::string& text) {
  cli::Image img;
  std::string err;
  EXPECT_FALSE(cli::decode_e142(bytes(text), img, err)) << text.substr(0, 300);
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  return err;
}

// A minimal map: one BinCodeMap with the given attributes, definitions and rows.
std::string doc(const std::string& map_attrs, const std::string& bcm_attrs, const std::string& defs,
                const std::string& rows, const std::string& layouts = "") {
  return "<?xml version=\"1.0\"?>\n<MapData>\n" + layouts + "<SubstrateMaps>\n<SubstrateMap " + map_attrs +
         ">\n<Overlay>\n<BinCodeMap " + bcm_attrs + ">\n<BinDefinitions>\n" + defs + "</BinDefinitions>\n" + rows +
         "</BinCodeMap>\n</Overlay>\n</SubstrateMap>\n</SubstrateMaps>\n</MapData>\n";
}

const std::string kDefs =
    "<BinDefinition BinCode=\"P\" BinQuality=\"Pass\"/>\n<BinDefinition BinCode=\"F\" BinQuality=\"Fail\"/>\n";

TEST(E142, SamplesDecodeToTheNpyGrid) {
  cli::Image n;
  std::string err;
  ASSERT_TRUE(cli::decode_npy(bytes(sample("synthetic_center.npy")), n, err)) << err;
  for (const char* name : {"synthetic_center.xml", "synthetic_center_hex.e142"}) {
    const std::string text = sample(name);
    ASSERT_FALSE(text.empty()) << name;
    EXPECT_TRUE(cli::looks_like_e142(bytes(text))) << name;
    cli::Image e;
    ASSERT_TRUE(cli::decode_image(bytes(text), e, err)) << name << ": " << err;  // found by content
    EXPECT_EQ(e.height, n.height) << name;
    EXPECT_EQ(e.width, n.width) << name;
    EXPECT_EQ(grid_of(e).die, grid_of(n).die) << name;
  }
}

TEST(E142, RandomMapsForEveryBinTypeAndNotchPosition) {
  std::mt19937 rng(142);
  for (int i = 0; i < 12; ++i) {
    const cli::DieGrid g = random_grid(rng, 3 + rng() % 60, 3 + rng() % 60);
    for (E142Type t : {E142Type::ascii, E142Type::hex, E142Type::integer2, E142Type::decimal})
      for (uint32_t o : {0u, 90u, 180u, 270u}) {
        const cli::DieGrid d = decode(e142_text(g, o, t, rng, i % 3 == 0));
        EXPECT_EQ(d.rows, g.rows);
        EXPECT_EQ(d.cols, g.cols);
        EXPECT_EQ(d.die, g.die) << "map " << i << " type " << int(t) << " orientation " << o;
      }
  }
}

TEST(E142, NotchPositionTurnsTheMap) {
  const std::string rows = "<BinCode>FPP</BinCode><BinCode>PPP</BinCode>";
  const auto at = [&](const std::string& attrs) {
    const cli::DieGrid d = decode(doc(attrs, "BinType=\"Ascii\"", kDefs, rows));
    for (size_t i = 0; i < d.die.size(); ++i)
      if (d.die[i] == cli::kFailDie) return std::make_pair(uint32_t(i / d.cols), uint32_t(i % d.cols));
    return std::make_pair(99u, 99u);
  };
  EXPECT_EQ(at(""), std::make_pair(0u, 0u));                     // default 0: the notch at the bottom
  EXPECT_EQ(at("Orientation=\"0\""), std::make_pair(0u, 0u));
  EXPECT_EQ(at("Orientation=\"180.0\""), std::make_pair(1u, 2u));  // notch at the top: half a turn
  EXPECT_EQ(at("Orientation=\"90\""), std::make_pair(2u, 0u));   // notch on the left: counter-clockwise
  EXPECT_EQ(at("Orientation=\"270\""), std::make_pair(0u, 1u));  // notch on the right: clockwise
  EXPECT_EQ(at("SubstrateSide=\"BottomSide\""), std::make_pair(0u, 2u));  // mirrored
  // OriginLocation / AxisDirection number the dies; the picture stays as written.
  EXPECT_EQ(at("OriginLocation=\"UpperRight\" AxisDirection=\"DownLeft\""), std::make_pair(0u, 0u));
}

TEST(E142, BinRules) {
  const std::string defs = kDefs +
                           "<BinDefinition BinCode=\"s\" BinQuality=\"Skip\"/><BinDefinition BinCode=\"r\" BinQuality=\"Reference\"/>"
                           "<BinDefinition BinCode=\"e\" BinQuality=\"EDGE\"/><BinDefinition BinCode=\"u\" BinQuality=\"Untested\"/>"
                           "<BinDefinition BinCode=\"n\" BinQuality=\"Null\"/><BinDefinition BinCode=\"t\" BinQuality=\"NotTested\"/>"
                           "<BinDefinition BinCode=\"p\" BinQuality=\"pass\"/>"
                           "<BinDefinition BinCode=\"P\" BinCount=\"12\" BinDescription=\"again, no quality\"/>";
  EXPECT_EQ(decode(doc("", "BinType=\"ASCII\" NullBin=\".\"", defs, "<BinCode> .PFsreuntp\n</BinCode>")).die,
            (std::vector<uint8_t>{0, 1, 2, 0, 0, 0, 0, 0, 0, 1}));
  // Entities and character references are decoded; a namespace prefix is ignored; comments skipped.
  EXPECT_EQ(decode("<x:MapData xmlns:x='urn:e142'><x:SubstrateMaps><x:SubstrateMap><x:Overlay>"
                   "<x:BinCodeMap BinType='Ascii'><x:BinDefinitions><x:BinDefinition BinCode='&amp;' BinQuality='Fail'/>"
                   "<x:BinDefinition BinCode='&#x50;' BinQuality='Pass'/></x:BinDefinitions>"
                   "<x:BinCode>&amp;P<!-- a comment -->&#80;</x:BinCode></x:BinCodeMap></x:Overlay></x:SubstrateMap>"
                   "</x:SubstrateMaps></x:MapData>")
                .die,
            (std::vector<uint8_t>{2, 1, 1}));
  // Hex codes may be separated by whitespace; a definition of "A" matches the row's "0A".
  EXPECT_EQ(decode(doc("", "BinType=\"HexaDecimal\" NullBin=\"FF\"",
                       "<BinDefinition BinCode=\"A\" BinQuality=\"Pass\"/><BinDefinition BinCode=\"0b\" BinQuality=\"Fail\"/>",
                       "<BinCode>0A 0B FF</BinCode><BinCode>ff0a0b</BinCode>"))
                .die,
            (std::vector<uint8_t>{1, 2, 0, 0, 1, 2}));
  // Other elements (Substrates, other overlays' content, unknown elements) are ignored.
  EXPECT_EQ(decode(doc("", "BinType=\"Decimal\"", "<BinDefinition BinCode=\"001\" BinQuality=\"Pass\"/>",
                       "<BinCode>1 001\t0001</BinCode>", "<Substrates><Substrate><GoodDevices>3</GoodDevices></Substrate></Substrates>"))
                .die,
            (std::vector<uint8_t>{1, 1, 1}));
}

TEST(E142, MalformedFilesAreRefusedNamingTheLine) {
  const std::string ok_attrs = "BinType=\"Ascii\" NullBin=\".\"";
  const std::string two = "<BinCode>PP</BinCode>\n";
  std::string deep = "<MapData>";
  for (int i = 0; i < 70; ++i) deep += "<a>";
  const std::pair<std::string, std::string> cases[] = {
      {"", "E142 line 1: no root element"},
      {"<Map/>", "the root element is <Map>, not <MapData>"},
      {"<MapData></MapData>", "E142: no SubstrateMap with an Overlay holding a BinCodeMap"},
      {"<!DOCTYPE MapData [<!ENTITY x \"y\">]><MapData/>", "E142 line 1: DOCTYPE and other declarations are not read"},
      {"<MapData><SubstrateMaps></MapData>", "end tag </MapData> does not close <SubstrateMaps>"},
      {"<MapData><SubstrateMaps>", "element <SubstrateMaps> is not closed"},
      {"<MapData a='1' a='2'/>", "attribute a given twice"},
      {"<MapData/><MapData/>", "a second root element"},
      {"<MapData/>trailing", "text outside the root element"},
      {"<MapData>&bogus;</MapData>", "unknown entity '&bogus;'"},
      {"<MapData>&#0;</MapData>", "character reference to an invalid code point"},
      {"<MapData a=b/>", "attribute a is not quoted"},
      {"<MapData a='<'/>", "'<' in the value of attribute a"},
      {"<MapData><!-- open", "unterminated comment"},
      {deep, "elements nested deeper than 64"},
      {doc("", ok_attrs, kDefs, ""), "E142: the BinCodeMap has no BinCode rows"},
      {doc("", "BinType=\"Base64\"", kDefs, two), "E142 line 6: BinType 'Base64' is not Ascii, HexaDecimal, Integer2 or Decimal"},
      {doc("", "", kDefs, two), "BinType '' is not"},
      {doc("", ok_attrs + " MapType=\"Coordinate\"", kDefs, two), "MapType 'Coordinate' is not read (2DArray only)"},
      {doc("SubstrateType=\"Strip\"", ok_attrs, kDefs, two), "E142 line 4: SubstrateType 'Strip' is not a wafer"},
      {doc("Orientation=\"45\"", ok_attrs, kDefs, two), "E142 line 4: Orientation '45' is not 0, 90, 180 or 270"},
      {doc("Orientation=\"-90\"", ok_attrs, kDefs, two), "Orientation '-90'"},
      {doc("OriginLocation=\"Middle\"", ok_attrs, kDefs, two), "OriginLocation 'Middle' is not"},
      {doc("AxisDirection=\"Sideways\"", ok_attrs, kDefs, two), "AxisDirection 'Sideways' is not"},
      {doc("SubstrateSide=\"Edge\"", ok_attrs, kDefs, two), "SubstrateSide 'Edge' is not"},
      {doc("", ok_attrs, kDefs, "<BinCode>PPP</BinCode>\n<BinCode>PP</BinCode>\n"), "E142 line 12: row of 2 dies, the first row has 3"},
      {doc("", ok_attrs, kDefs, "<BinCode>PQ</BinCode>\n"), "E142 line 11: die 2 has bin 'Q', which has no BinDefinition"},
      {doc("", ok_attrs, kDefs, "<BinCode>P P</BinCode>\n"), "whitespace inside an Ascii row"},
      {doc("", ok_attrs, kDefs, "<BinCode>P<b/>P</BinCode>\n"), "element <b> inside a BinCode row"},
      {doc("", ok_attrs, kDefs + "<BinDefinition BinCode=\"Z\"/>", "<BinCode>PZ</BinCode>\n"), "bin 'Z' (defined on line 10) has no BinQuality"},
      {doc("", ok_attrs, kDefs + "<BinDefinition BinCode=\"I\" BinQuality=\"Ink\"/>", "<BinCode>IP</BinCode>\n"), "bin 'I' has BinQuality 'Ink'"},
      {doc("", ok_attrs, kDefs + "<BinDefinition BinCode=\"P\" BinQuality=\"Fail\"/>", two), "E142 line 10: bin 'P' defined again with BinQuality 'Fail' (line 8 says 'Pass')"},
      {doc("", ok_attrs, "<BinDefinition BinCode=\"PP\" BinQuality=\"Pass\"/>", two), "BinDefinition without a valid BinCode ('PP')"},
      {doc("", "BinType=\"Ascii\" NullBin=\"..\"", kDefs, two), "NullBin '..' is not a Ascii bin code"},
      {doc("", "BinType=\"HexaDecimal\"", "<BinDefinition BinCode=\"01\" BinQuality=\"Pass\"/>", "<BinCode>010</BinCode>"), "die 2: '0' is not 2 hex digits"},
      {doc("", "BinType=\"Integer2\"", "<BinDefinition BinCode=\"12345\" BinQuality=\"Pass\"/>", two), "BinDefinition without a valid BinCode ('12345')"},
      {doc("", "BinType=\"Decimal\"", "<BinDefinition BinCode=\"1\" BinQuality=\"Pass\"/>", "<BinCode>1 99999</BinCode>"), "'99999' is not a decimal bin code 0..65535"},
      {doc("LayoutSpecifier=\"W/Die\"", ok_attrs, kDefs, two,
           "<Layouts><Layout LayoutId=\"Die\"><Dimension X=\"2\" Y=\"3\"/></Layout></Layouts>\n"),
       "E142: 1 BinCode rows, layout 'Die' has Dimension Y=3"},
      {doc("LayoutSpecifier=\"Die\"", ok_attrs, kDefs, two,
           "<Layouts><Layout LayoutId=\"Die\"><Dimension X=\"3\" Y=\"1\"/></Layout></Layouts>\n"),
       "row of 2 dies, layout Dimension X=3"},
      {doc("LayoutSpecifier=\"Die\"", ok_attrs, kDefs, two,
           "<Layouts><Layout LayoutId=\"Die\"><Dimension X=\"99999999999\" Y=\"1\"/></Layout></Layouts>\n"),
       "layout 'Die' has a Dimension outside 1..4096"},
      {"<MapData><SubstrateMaps><SubstrateMap><Overlay><BinCodeMap BinType='Ascii'><BinCode>P</BinCode></BinCodeMap></Overlay>"
       "<Overlay><BinCodeMap BinType='Ascii'/></Overlay></SubstrateMap></SubstrateMaps></MapData>",
       "a second BinCodeMap: one substrate map (one wafer) per file is read"},
  };
  for (const auto& [text, want] : cases) {
    const std::string err = refusal(text);
    EXPECT_NE(err.find(want), std::string::npos) << "got: " << err << "\nwant: " << want;
  }
  std::string wide = doc("", ok_attrs, kDefs, "<BinCode>" + std::string(4097, 'P') + "</BinCode>");
  EXPECT_NE(refusal(wide).find("more than 4096 dies in a row"), std::string::npos);
  EXPECT_NE(refusal(std::string(cli::kMaxWaferMapBytes + 1, ' ')).find("wafer map cap"), std::string::npos);
}

TEST(E142, Sniffing) {
  EXPECT_TRUE(cli::looks_like_e142(bytes("\xEF\xBB\xBF\n<?xml version='1.0'?><MapData/>")));
  EXPECT_FALSE(cli::looks_like_e142(bytes("<svg xmlns='http://www.w3.org/2000/svg'/>")));
  EXPECT_FALSE(cli::looks_like_e142(bytes("MapData")));
}

}  // namespace
}  // namespace triage::test
