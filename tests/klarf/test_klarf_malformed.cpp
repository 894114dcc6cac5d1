// Malformed KLARF files, made from the good fixtures by one edit each (truncated, counts that disagree
// with what follows, numbers out of range, an overlong line, no EndOfFile, ...): every one is refused,
// the message naming the line of the fault and why.
#include <gtest/gtest.h>

#include <functional>

#include "tests/klarf/klarf_test_util.h"
#include "tools/klarf/klarf_reader.h"

namespace triage::klarf {
namespace {

using test::replace_once;

struct Case {
  const char* name;
  std::function<std::string()> make;
  const char* expect;  // the message starts with "line N: " and contains this
  uint32_t line;
};

std::string s12() { return test::read_bytes(test::fixture("simple12.klarf")); }
std::string ex12() { return test::read_bytes(test::fixture("klarf12DefectListExample.klarf")); }
std::string i18() { return test::read_bytes(test::fixture("klarfWithImagelist.klarf")); }

std::string nested(size_t depth) {
  std::string s = "Record FileRecord \"1.8\"\n{\n";
  for (size_t i = 0; i < depth; ++i) s += "Record R\n{\n";
  for (size_t i = 0; i < depth; ++i) s += "}\n";
  return s + "}\nEndOfFile;\n";
}

const std::vector<Case>& cases() {
  static const std::vector<Case> v = {
      // 1.2
      {"truncated12", [] { const std::string s = s12(); return s.substr(0, s.find("DefectList") + 40); },
       "defect record 1 ends after 6 of its 17 values", 29},
      {"truncated12_mid_statement", [] { const std::string s = s12(); return s.substr(0, s.find("SummarySpec") + 20); },
       "'SummarySpec' is not ended by ';'", 32},
      {"no_end_of_file12", [] { return replace_once(s12(), "EndOfFile;\r\n", ""); }, "no EndOfFile", 35},
      {"text_after_end12", [] { return s12() + "Junk;\r\n"; }, "text after EndOfFile", 37},
      {"spec_count12", [] { return replace_once(s12(), "DefectRecordSpec 17", "DefectRecordSpec 18"); },
       "DefectRecordSpec declares 18 columns but names 17", 27},
      {"spec_duplicate12", [] { return replace_once(s12(), "IMAGECOUNT IMAGELIST ;", "IMAGECOUNT CLASSNUMBER ;"); },
       "names column 'CLASSNUMBER' twice", 27},
      {"lookup_more12", [] { return replace_once(s12(), "ClassLookup 2", "ClassLookup 3"); },
       "ClassLookup declares 3 classes but ends after 2", 20},
      {"lookup_fewer12", [] { return replace_once(s12(), "ClassLookup 2", "ClassLookup 1"); },
       "ClassLookup declares 1 classes but holds more", 20},
      {"lookup_huge_count12", [] { return replace_once(s12(), "ClassLookup 2", "ClassLookup 99999999999999999999"); },
       "ClassLookup needs an entry count of 0..100000", 18},
      {"lookup_bad_number12", [] { return replace_once(s12(), " 10 \"Blork\"", " 1e1 \"Blork\""); },
       "ClassLookup class number '1e1' is not an integer", 20},
      {"class_huge12", [] { return replace_once(s12(), "5.000 10 1 0", "5.000 99999999999 1 0"); },
       "CLASSNUMBER '99999999999' is not an integer", 29},
      {"image_count_huge12", [] { return replace_once(s12(), "10 1 0 0 0 0 0 0 ;", "10 1 0 0 0 0 4294967296 0 ;"); },
       "IMAGECOUNT '4294967296' is not a count of 0..256", 29},
      {"images_without_tiff12", [] { return replace_once(s12(), "10 1 0 0 0 0 0 0 ;", "10 1 0 0 0 0 1 1 1 0 ;"); },
       "defect record 1 lists images but no TiffFileName precedes it", 29},
      {"image_list_short12", [] { return replace_once(ex12(), "0.000000 0 0;\r\nTiffFileName A2", "0.000000 0 1 5;\r\nTiffFileName A2"); },
       "IMAGELIST declares 1 images but ends after 0", 47},
      {"image_number_zero12", [] { return replace_once(ex12(), " 933 0.0000 0 0 0 0.000000 1 1 1 0\r\n", " 933 0.0000 0 0 0 0.000000 1 1 0 0\r\n"); },
       "IMAGELIST image number '0' is not an integer >= 1", 45},
      {"list_before_spec12", [] { const std::string s = s12(); const size_t a = s.find("DefectRecordSpec"); return s.substr(0, a) + s.substr(s.find("DefectList")); },
       "DefectList before any DefectRecordSpec", 27},
      {"wafer_without_list12", [] { return replace_once(s12(), "EndOfFile;", "WaferID \"w2\";\r\nEndOfFile;"); },
       "WaferID 'w2' has no DefectList", 36},
      {"overlong_line12", [] { return replace_once(s12(), "FileVersion 1 2;\r\n", "FileVersion 1 2;\r\nComment " + std::string(300000, 'x') + ";\r\n"); },
       "line longer than 262144 bytes", 2},
      {"nul_byte12", [] { return replace_once(s12(), "LotID \"aLot\"", std::string("LotID \"a\0ot\"", 12)); }, "NUL byte", 6},
      {"unterminated_string12", [] { return replace_once(s12(), "LotID \"aLot\";", "LotID \"aLot;"); }, "unterminated string", 6},
      {"second_file_version12", [] { return replace_once(s12(), "FileVersion 1 2;\r\n", "FileVersion 1 2;\r\nFileVersion 1 2;\r\n"); },
       "a second FileVersion", 2},
      {"file_version_2", [] { return replace_once(s12(), "FileVersion 1 2;", "FileVersion 2 0;"); }, "FileVersion 2 is not KLARF 1.x", 1},
      {"not_klarf", [] { return std::string("hello world;\n"); }, "not a KLARF file", 1},
      {"empty", [] { return std::string(); }, "not a KLARF file: it starts with nothing", 1},
      // 1.8
      {"truncated18", [] { const std::string s = i18(); return s.substr(0, s.find("List ClassLookupList")); }, "this '{' is never closed", 4},
      {"truncated18_in_row", [] { const std::string s = i18(); return s.substr(0, s.find("\"a/path/there\"")); },
       "expected an entry, found the end of the file", 40},
      {"no_end_of_file18", [] { return replace_once(i18(), "EndOfFile;", ""); }, "no EndOfFile", 83},
      {"text_after_end18", [] { return i18() + "\nx"; }, "text after EndOfFile", 85},
      {"rows_more18", [] { return replace_once(i18(), "Data 6", "Data 7"); }, "Data declares 7 rows but holds 6", 38},
      {"rows_fewer18", [] { return replace_once(i18(), "Data 6", "Data 5"); }, "Data declares 5 rows but holds more", 45},
      {"rows_huge18", [] { return replace_once(i18(), "Data 6", "Data 99999999999999999999999"); }, "row count", 38},
      {"columns_more18", [] { return replace_once(i18(), "Columns 26", "Columns 27"); }, "declares 27 columns but names 26", 37},
      {"field_count18", [] { return replace_once(i18(), "Field DeviceID 1 {", "Field DeviceID 2 {"); },
       "Field 'DeviceID' declares 2 values but holds 1", 5},
      {"image_count18", [] { return replace_once(i18(), "Images 3 { \"a/path/here\" ", "Images 4 { \"a/path/here\" "); },
       "column 'IMAGEINFO' declares 4 entries but holds 3", 40},
      {"image_entry18", [] { return replace_once(i18(), "\"a/path/here\" \"JPG\" 1 \"Patch\",", "\"a/path/here\" \"JPG\" 1,"); },
       "an ImageList entry needs 4 values", 40},
      {"image_position18", [] { return replace_once(i18(), "\"a/path/here\" \"JPG\" 1 \"Patch\",", "\"a/path/here\" \"JPG\" -1 \"Patch\","); },
       "ImageList position '-1' is not an integer >= 1", 40},
      {"int32_huge18", [] { return replace_once(i18(), "2 7243340 1952050", "2 7243340 99999999999"); },
       "column 'YREL': '99999999999' is not an int32", 40},
      {"float_huge18", [] { return replace_once(i18(), "21725264.1 21690424.9", "1e999 21690424.9"); },
       "column 'GDSX': '1e999' is not a finite number", 40},
      {"row_short18", [] { return replace_once(i18(), "0 0 111 N;", "0 0 111;"); }, "row 5 ends after 25 of its 26 values", 44},
      {"row_long18", [] { return replace_once(i18(), "0 0 111 N;", "0 0 111 N 7;"); }, "row 5 has more than its 26 values", 44},
      {"unexpected18", [] { return replace_once(i18(), "      Field DeviceID", "      Fjeld DeviceID"); },
       "unexpected 'Fjeld' (expected Record, Field, List or '}')", 5},
      {"not_file_record18", [] { return replace_once(i18(), "Record FileRecord", "Record FooRecord"); }, "the first record is 'FooRecord'", 1},
      {"nested_too_deep18", [] { return nested(100); }, "records nested deeper than 64", 130},  // the 64th nested "{"
  };
  return v;
}

TEST(KlarfMalformed, EveryVariantIsRefusedWithItsLine) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const std::string text = c.make();
    ASSERT_EQ(text.find("not found once>"), std::string::npos) << text;
    Document doc;
    std::string err;
    ASSERT_FALSE(read_klarf(text, {}, doc, err)) << "accepted";
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    const std::string prefix = "line " + std::to_string(c.line) + ": ";
    EXPECT_EQ(err.rfind(prefix, 0), 0u) << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << err;
  }
}

// The nesting limit itself is accepted: only deeper files are refused.
TEST(KlarfMalformed, NestingAtTheLimitIsAccepted) {
  Document doc;
  std::string err;
  EXPECT_TRUE(read_klarf(nested(kMaxDepth - 1), {}, doc, err)) << err;
}

// A file just under the line limit reads; one byte more is refused.
TEST(KlarfMalformed, LineLimitIsExact) {
  const std::string head = "FileVersion 1 2;\nComment ";
  const std::string tail = "\nEndOfFile;\n";
  const std::string ok = head + std::string(kMaxLineBytes - 9, 'x') + ";" + tail;  // "Comment " + x... + ";" = the limit
  Document doc;
  std::string err;
  EXPECT_TRUE(read_klarf(ok, {}, doc, err)) << err;
  const std::string over = head + std::string(kMaxLineBytes - 8, 'x') + ";" + tail;
  EXPECT_FALSE(read_klarf(over, {}, doc, err));
  EXPECT_EQ(err.rfind("line 2: line longer than", 0), 0u) << err;
}

}  // namespace
}  // namespace triage::klarf
