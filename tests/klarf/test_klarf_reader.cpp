// The KLARF reader on the jklarfreader fixtures: what it finds in each good file (defects, class
// tokens, image references, ClassLookup), the unchanged write-back, and the two bad files refused with
// their line.
#include <gtest/gtest.h>

#include "tests/klarf/klarf_test_util.h"
#include "tools/klarf/klarf_reader.h"
#include "tools/klarf/klarf_writer.h"

namespace triage::klarf {
namespace {

using test::fixture;

Document read_ok(const std::string& name, const ReadOptions& opt = {}) {
  Document doc;
  std::string err;
  EXPECT_TRUE(read_klarf_file(fixture(name), opt, doc, err)) << name << ": " << err;
  return doc;
}

std::string refusal(const std::string& name) {
  Document doc;
  std::string err;
  EXPECT_FALSE(read_klarf_file(fixture(name), {}, doc, err)) << name << " was accepted";
  return err;
}

TEST(KlarfReader, EveryGoodFixtureWritesBackByteForByte) {
  for (const std::string& name : test::good_fixtures()) {
    SCOPED_TRACE(name);
    const std::string bytes = test::read_bytes(fixture(name));
    ASSERT_FALSE(bytes.empty());
    Document doc = read_ok(name);
    EXPECT_EQ(doc.text, bytes);
    std::string out, err;
    ASSERT_TRUE(write_klarf(doc, {}, out, err)) << err;
    EXPECT_TRUE(out == bytes) << "the unchanged write differs from the file";
  }
}

TEST(KlarfReader, Simple12) {
  const Document d = read_ok("simple12.klarf");
  EXPECT_EQ(d.version, Version::v12);
  EXPECT_EQ(d.eol, "\r\n");
  EXPECT_EQ(d.wafers, 1u);
  ASSERT_EQ(d.defects.size(), 1u);
  EXPECT_EQ(d.defects[0].id, "1");
  EXPECT_EQ(d.defects[0].line, 29u);
  ASSERT_TRUE(d.defects[0].has_class);
  EXPECT_EQ(d.bytes(d.defects[0].class_value), "10");
  EXPECT_TRUE(d.defects[0].images.empty());  // IMAGELIST 0
  EXPECT_EQ(d.lookup.count, 1u);
  EXPECT_EQ(d.lookup.line, 18u);
  ASSERT_EQ(d.lookup.entries.size(), 2u);
  EXPECT_EQ(d.lookup.entries[0].number, -1);
  EXPECT_EQ(d.lookup.entries[0].name, "Unclassified");
  EXPECT_EQ(d.lookup.entries[1].number, 10);
  EXPECT_EQ(d.lookup.entries[1].name, "Blork");
  EXPECT_EQ(d.bytes(d.lookup.count_value), "2");
}

TEST(KlarfReader, DefectListExampleImagesFollowTiffFileName) {
  const Document d = read_ok("klarf12DefectListExample.klarf");
  ASSERT_EQ(d.defects.size(), 13u);  // an empty DefectList, then four lists
  EXPECT_EQ(d.wafers, 1u);
  for (size_t i = 0; i < d.defects.size(); ++i) EXPECT_EQ(d.defects[i].id, std::to_string(i + 1));
  ASSERT_EQ(d.defects[0].images.size(), 1u);
  EXPECT_EQ(d.defects[0].images[0].file, "A_1.jpg");
  EXPECT_EQ(d.defects[0].images[0].position, 1u);
  EXPECT_TRUE(d.defects[1].images.empty());
  ASSERT_EQ(d.defects[3].images.size(), 1u);
  EXPECT_EQ(d.defects[3].images[0].file, "A2.jpg");
  ASSERT_EQ(d.defects[8].images.size(), 1u);  // its IMAGELIST pair continues on the next line
  EXPECT_EQ(d.defects[8].images[0].file, "A_5.jpg");
  EXPECT_EQ(d.defects[8].images[0].position, 39u);
  EXPECT_EQ(d.defects[9].line, 62u);
  ASSERT_EQ(d.defects[10].images.size(), 7u);
  ASSERT_EQ(d.defects[11].images.size(), 7u);
  for (uint32_t k = 0; k < 7; ++k) {
    EXPECT_EQ(d.defects[10].images[k].file, "multi-image.tif");
    EXPECT_EQ(d.defects[10].images[k].position, k + 1);
    EXPECT_EQ(d.defects[11].images[k].position, k + 8);
  }
  EXPECT_TRUE(d.defects[12].images.empty());
}

TEST(KlarfReader, AutoColumnIn12OnlyWhenAsked) {
  EXPECT_FALSE(read_ok("klarf12DefectListExample.klarf").defects[0].has_auto);
  ReadOptions opt;
  opt.auto_column_v12 = "AUTOSEMCLASS";
  const Document d = read_ok("klarf12DefectListExample.klarf", opt);
  ASSERT_TRUE(d.defects[0].has_auto);
  // CLASSNUMBER 0, then TEST CLUSTERNUMBER ROUGHBINNUMBER FINEBINNUMBER REVIEWSAMPLE CHANNELID MANSEMCLASS AUTOSEMCLASS.
  const Defect& one = d.defects[0];
  EXPECT_EQ(d.text.substr(one.class_value.begin, one.auto_value.end - one.class_value.begin), "0 5 0 0 1 1 1 0 0");
}

TEST(KlarfReader, ImageList18) {
  const Document d = read_ok("klarfWithImagelist.klarf");
  EXPECT_EQ(d.version, Version::v18);
  EXPECT_EQ(d.eol, "\n");
  ASSERT_EQ(d.defects.size(), 6u);
  const char* ids[] = {"2", "5", "11", "12", "15", "16"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(d.defects[i].id, ids[i]);
    EXPECT_EQ(d.defects[i].line, 40u + i);
    EXPECT_TRUE(d.defects[i].has_class);
    EXPECT_TRUE(d.defects[i].has_auto);  // AUTOOFFSEMCLASS by default
    EXPECT_EQ(d.bytes(d.defects[i].class_value), "0");
  }
  ASSERT_EQ(d.defects[0].images.size(), 3u);
  EXPECT_EQ(d.defects[0].images[0].file, "a/path/here");
  EXPECT_EQ(d.defects[0].images[2].file, "a/path/anywhere");
  EXPECT_TRUE(d.defects[1].images.empty());  // N
  ASSERT_EQ(d.defects[3].images.size(), 3u);
  EXPECT_EQ(d.defects[3].images[1].file, "a/path/there2");
  ASSERT_EQ(d.lookup.entries.size(), 1u);
  EXPECT_EQ(d.lookup.entries[0].name, "Not Classified");
  EXPECT_EQ(d.lookup.column_names, (std::vector<std::string>{"CLASSNUMBER", "CLASSNAME", "CLASSCODE"}));
  // The auto column's token: AUTOOFFSEMCLASS of defect 5 is 0, after MACROSIGCLASS 401, SAMPLEBINNUMBER 1.
  const Defect& five = d.defects[1];
  EXPECT_EQ(d.text.substr(five.auto_value.begin - 6, 7), "401 1 0");
}

TEST(KlarfReader, TwoWafers18) {
  for (const char* name : {"simple18.klarf", "wierdKlarfWithNAs.klarf"}) {
    SCOPED_TRACE(name);
    const Document d = read_ok(name);
    EXPECT_EQ(d.wafers, 2u);
    ASSERT_EQ(d.defects.size(), 4u);
    const char* classes[] = {"91", "180", "0", "1"};
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(d.bytes(d.defects[i].class_value), classes[i]);
    EXPECT_EQ(d.defects[3].line, 109u);
    ASSERT_EQ(d.lookup.entries.size(), 4u);
    EXPECT_EQ(d.lookup.entries[3].number, 3);
    EXPECT_EQ(d.lookup.entries[3].name, "Blobby");
    EXPECT_EQ(d.lookup.indent, "         ");
  }
}

TEST(KlarfReader, BadFixturesAreRefusedWithTheirLine) {
  // A second wafer without a DefectList (jklarfreader: "More than 1 wafer record").
  const std::string e1 = refusal("bad12.klarf");
  EXPECT_EQ(e1.rfind("line 36: WaferID 'anotherWafer' has no DefectList", 0), 0u) << e1;
  // A defect record with one value too many: CLASSNUMBER lands on "5.000".
  const std::string e2 = refusal("bad12DefectList.klarf");
  EXPECT_EQ(e2.rfind("line 29: CLASSNUMBER '5.000' is not an integer", 0), 0u) << e2;
}

}  // namespace
}  // namespace triage::klarf
