// The KLARF writer: the exact bytes of a class update (class tokens, ClassLookup count and new entries
// in the file's line ending and indentation, everything else unchanged), a new ClassLookup where the
// file has none, and the refused updates.
#include <gtest/gtest.h>

#include "tests/klarf/klarf_test_util.h"
#include "tools/klarf/klarf_reader.h"
#include "tools/klarf/klarf_writer.h"

namespace triage::klarf {
namespace {

using test::replace_once;

Document parse(const std::string& text, const ReadOptions& opt = {}) {
  Document doc;
  std::string err;
  EXPECT_TRUE(read_klarf(text, opt, doc, err)) << err;
  return doc;
}

std::string written(const Document& doc, const ClassUpdate& up) {
  std::string out, err;
  EXPECT_TRUE(write_klarf(doc, up, out, err)) << err;
  return out;
}

TEST(KlarfWriter, Update12ExactBytes) {
  const std::string in = test::read_bytes(test::fixture("simple12.klarf"));
  const Document doc = parse(in);
  ClassUpdate up;
  up.defects = {{0, 11}};
  up.added = {{11, "scratch"}, {12, "particle"}};
  std::string expect = replace_once(in, "5.000 10 1 0 0", "5.000 11 1 0 0");
  expect = replace_once(expect, "ClassLookup 2\r\n", "ClassLookup 4\r\n");
  expect = replace_once(expect, " 10 \"Blork\";\r\n", " 10 \"Blork\"\r\n 11 \"scratch\"\r\n 12 \"particle\";\r\n");
  EXPECT_EQ(written(doc, up), expect);
}

TEST(KlarfWriter, Update18ClassAndAutoColumnExactBytes) {
  const std::string in = test::read_bytes(test::fixture("klarfWithImagelist.klarf"));
  const Document doc = parse(in);
  ClassUpdate up;
  up.defects = {{0, 7}, {3, 8}};
  up.added = {{7, "open"}, {8, "bridge"}};
  // Defect 2: ROUGHBINNUMBER 11, CLASSNUMBER 0, MACROSIGCLASS 0, SAMPLEBINNUMBER 1, AUTOOFFSEMCLASS 0.
  std::string expect = replace_once(in, "321 0 1 1 11 0 0 1 0 0 1 1 0 0 113 Images", "321 0 1 1 11 7 0 1 7 0 1 1 0 0 113 Images");
  expect = replace_once(expect, "7962 0 1 1 11 0 0 1 0 0", "7962 0 1 1 11 8 0 1 8 0");
  expect = replace_once(expect, "         Data 1\n         {\n            0 \"Not Classified\" \"\";\n",
                        "         Data 3\n         {\n            0 \"Not Classified\" \"\";\n            7 \"open\" \"\";\n"
                        "            8 \"bridge\" \"\";\n");
  EXPECT_EQ(written(doc, up), expect);
}

TEST(KlarfWriter, AutoColumnNoneWritesClassNumberOnly) {
  const std::string in = test::read_bytes(test::fixture("klarfWithImagelist.klarf"));
  ReadOptions opt;
  opt.auto_column_v18.clear();
  const Document doc = parse(in, opt);
  ClassUpdate up;
  up.defects = {{0, 7}};
  EXPECT_EQ(written(doc, up), replace_once(in, "321 0 1 1 11 0 0 1 0 0", "321 0 1 1 11 7 0 1 0 0"));
}

TEST(KlarfWriter, EmptyLookupGetsEntries) {
  const std::string in = "FileVersion 1 2;\nClassLookup 0;\nWaferID \"w\";\nDefectRecordSpec 2 DEFECTID CLASSNUMBER;\nDefectList\n 1 0;\nEndOfFile;\n";
  ClassUpdate up;
  up.defects = {{0, 1}};
  up.added = {{1, "good"}};
  EXPECT_EQ(written(parse(in), up),
            "FileVersion 1 2;\nClassLookup 1\n 1 \"good\";\nWaferID \"w\";\nDefectRecordSpec 2 DEFECTID CLASSNUMBER;\nDefectList\n 1 1;\nEndOfFile;\n");
}

TEST(KlarfWriter, NewLookup12BeforeTheFirstWafer) {
  const std::string in = "FileVersion 1 2;\r\nLotID \"l\";\r\nWaferID \"w\";\r\nDefectRecordSpec 2 DEFECTID CLASSNUMBER;\r\nDefectList\r\n 1 0;\r\n"
                         "EndOfFile;\r\n";
  ClassUpdate up;
  up.added = {{1, "good"}, {2, "scratch"}};
  const std::string out = written(parse(in), up);
  EXPECT_EQ(out, replace_once(in, "WaferID", "ClassLookup 2\r\n 1 \"good\"\r\n 2 \"scratch\";\r\nWaferID"));
  const Document back = parse(out);
  ASSERT_EQ(back.lookup.entries.size(), 2u);
  EXPECT_EQ(back.lookup.entries[1].name, "scratch");
}

TEST(KlarfWriter, NewLookup18AtTheEndOfTheLotRecord) {
  const std::string in =
      "Record FileRecord \"1.8\"\n{\n  Record LotRecord \"l\"\n  {\n    Field DeviceID 1 {\"d\"}\n  }\n}\nEndOfFile;\n";
  ClassUpdate up;
  up.added = {{4, "good"}};
  const std::string out = written(parse(in), up);
  EXPECT_EQ(out, replace_once(in, "    Field DeviceID 1 {\"d\"}\n",
                              "    Field DeviceID 1 {\"d\"}\n    List ClassLookupList\n    {\n"
                              "      Columns 3 { int32 CLASSNUMBER, string CLASSNAME, string CLASSCODE }\n"
                              "      Data 1\n      {\n        4 \"good\" \"\";\n      }\n    }\n"));
  const Document back = parse(out);
  ASSERT_EQ(back.lookup.entries.size(), 1u);
  EXPECT_EQ(back.lookup.entries[0].number, 4);
}

// Columns in another order and of other types: the new row follows them.
TEST(KlarfWriter, Lookup18RowFollowsTheColumns) {
  const std::string in =
      "Record FileRecord \"1.8\"\n{\n  List ClassLookupList\n  {\n    Columns 4 { string CLASSNAME, int32 PRIORITY, int32 CLASSNUMBER, string CLASSCODE }\n"
      "    Data 1\n    {\n      \"a\" 1 0 \"x\";\n    }\n  }\n}\nEndOfFile;\n";
  ClassUpdate up;
  up.added = {{9, "b"}};
  EXPECT_EQ(written(parse(in), up),
            replace_once(replace_once(in, "Data 1", "Data 2"), "\"a\" 1 0 \"x\";\n", "\"a\" 1 0 \"x\";\n      \"b\" 0 9 \"\";\n"));
}

TEST(KlarfWriter, RefusedUpdates) {
  const Document doc = parse(test::read_bytes(test::fixture("simple12.klarf")));
  std::string out, err;
  ClassUpdate twice;
  twice.defects = {{0, 1}, {0, 2}};
  EXPECT_FALSE(write_klarf(doc, twice, out, err));
  EXPECT_NE(err.find("updated twice"), std::string::npos) << err;
  ClassUpdate range;
  range.defects = {{1, 1}};
  EXPECT_FALSE(write_klarf(doc, range, out, err));
  const Document no_class = parse("FileVersion 1 2;\nWaferID \"w\";\nDefectRecordSpec 1 DEFECTID;\nDefectList\n 7;\nEndOfFile;\n");
  ClassUpdate one;
  one.defects = {{0, 1}};
  EXPECT_FALSE(write_klarf(no_class, one, out, err));
  EXPECT_EQ(err, "line 5: defect '7' has no CLASSNUMBER column");
}

TEST(KlarfWriter, QuoteNameSanitises) {
  EXPECT_EQ(quote_name("a\"b\nc"), "\"a_b_c\"");
  EXPECT_EQ(quote_name("missing_contact"), "\"missing_contact\"");
}

}  // namespace
}  // namespace triage::klarf
