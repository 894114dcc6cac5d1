// `triage klarf` end to end: generated KLARF 1.2 and 1.8 files with generated PNG and multi-page TIFF
// review images, classified with the shipped adc-pcb model. The expected output is the input with
// only the class tokens (the class the C API gives for that very image and page) and the ClassLookup
// changed; defects without an image or with an unreadable one keep their class. Also: the --no-classify
// round trip of every fixture, malformed files refused, the input never overwritten, the JSON summary.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/triage.h"
#include "tests/common/run_triage.h"
#include "tests/klarf/klarf_test_util.h"
#include "tests/runtime/png_writer.h"
#include "tools/cli/image_io.h"

namespace triage::klarf {
namespace {

using test::replace_once;
using test::TempDir;
using triage::test::run_triage;

const std::string kModel = std::string(TRIAGE_BINARY_DIR) + "/models/adc-pcb.trw";
constexpr uint32_t kSide = 224;

// A gray test picture: kind 0 flat with noise, 1 a bright disc, 2 a dark diagonal line, 3 a checker.
std::vector<uint8_t> picture(int kind, uint32_t seed) {
  std::vector<uint8_t> px(kSide * kSide);
  uint32_t r = seed * 2654435761u + 1;
  for (uint32_t y = 0; y < kSide; ++y)
    for (uint32_t x = 0; x < kSide; ++x) {
      r = r * 1664525u + 1013904223u;
      int v = 120 + static_cast<int>((r >> 24) % 16);
      const int dx = int(x) - 112, dy = int(y) - 100;
      if (kind == 1 && dx * dx + dy * dy < 30 * 30) v = 240;
      if (kind == 2 && std::abs(int(x) - int(y)) < 4) v = 20;
      if (kind == 3) v = ((x / 28 + y / 28) % 2) ? 200 : 40;
      px[y * kSide + x] = static_cast<uint8_t>(v);
    }
  return px;
}

void write_png_file(const std::string& path, int kind, uint32_t seed) {
  cli::PngSpec s;
  s.w = s.h = kSide;
  test::write_bytes(path, [&] {
    const std::vector<uint8_t> b = cli::write_png(s, picture(kind, seed));
    return std::string(b.begin(), b.end());
  }());
}

// A multi-page 8-bit gray TIFF, one picture per page.
bool write_tiff_file(const std::string& path, const std::vector<std::pair<int, uint32_t>>& pages) {
  TIFF* t = TIFFOpen(path.c_str(), "w");
  if (!t) return false;
  for (const auto& [kind, seed] : pages) {
    const std::vector<uint8_t> px = picture(kind, seed);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, kSide);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, kSide);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, kSide);
    TIFFWriteEncodedStrip(t, 0, const_cast<uint8_t*>(px.data()), static_cast<tmsize_t>(px.size()));
    TIFFWriteDirectory(t);
  }
  TIFFClose(t);
  return true;
}

// The model's classes and its decision on one image (page 1-based), through the C API as the CLI
// uses it.
struct Oracle {
  triage_model* model = nullptr;
  std::vector<std::string> classes;
  Oracle() {
    triage_options o;
    triage_options_init(&o);
    if (triage_open_file(kModel.c_str(), &o, &model) != TRIAGE_OK) return;
    triage_model_info info;
    info.struct_size = sizeof(info);
    triage_get_info(model, &info);
    for (uint32_t c = 0; c < info.num_classes; ++c) classes.emplace_back(info.class_names[c]);
  }
  ~Oracle() { triage_close(model); }
  int index(const std::string& path, uint32_t page = 1) const {
    cli::Image img;
    std::string err;
    std::vector<uint32_t> pages;
    if (page > 1) pages.push_back(page - 1);
    if (!cli::read_image(path, img, err, pages) || !cli::convert_channels(img, 1, err)) return -1;
    const triage_image v = img.view();
    triage_result r;
    return triage_classify(model, &v, &r) == TRIAGE_OK ? r.class_index : -1;
  }
};

class KlarfCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kModel)) << kModel << " is missing: build the `models` target";
    ASSERT_TRUE(oracle.model) << triage_open_error();
    ASSERT_EQ(oracle.classes.size(), 7u);
    std::filesystem::create_directories(dir / "img");
    ASSERT_TRUE(write_tiff_file(dir / "review.tif", {{0, 1}, {1, 2}, {2, 3}}));
    ASSERT_TRUE(write_tiff_file(dir / "img/c.tif", {{3, 4}, {1, 5}}));
    write_png_file(dir / "d5.png", 3, 6);
    write_png_file(dir / "img/a.png", 1, 7);
    write_png_file(dir / "img/b.png", 2, 8);
  }
  TempDir dir;
  Oracle oracle;
};

// KLARF 1.2, CRLF. {C*}: the class tokens classify replaces. Defect 3 has no image, 6 neither, 7's
// image does not exist; 4 lists two images (pages 2 and 1): the first is classified.
const char* kTemplate12 =
    "FileVersion 1 2;\r\n"
    "FileTimestamp 12-02-26 08:00:00;\r\n"
    "InspectionStationID \"triage\" \"test\" \"1\";\r\n"
    "SampleType WAFER;\r\n"
    "LotID \"lot1\";\r\n"
    "UnknownVendorKey  \"keep   me\" 1 2 3 ;\r\n"
    "ClassLookup 2\r\n"
    " 0 \"Unclassified\"\r\n"
    " 5 \"Old\";{LOOKUP}\r\n"
    "WaferID \"w1\";\r\n"
    "TiffSpec 6.0 G R;\r\n"
    "TiffFileName review.tif;\r\n"
    "DefectRecordSpec 7 DEFECTID XREL YREL CLASSNUMBER TEST IMAGECOUNT IMAGELIST ;\r\n"
    "DefectList\r\n"
    " 1 10.5 20.25 {C1} 1 1 1 1 0\r\n"
    " 2 11.5 21.25 {C2} 1 1 1 3 0\r\n"
    " 3 12.5 22.25 5 1 0 0\r\n"
    " 4 1.0 2.0 {C4} 1 2 2 2 0 1 0;\r\n"
    "TiffFileName d5.png;\r\n"
    "DefectList\r\n"
    " 5 13.5 23.25 {C5} 1 1 1 1 0\r\n"
    " 6 14.5 24.25 0 1 0 0;\r\n"
    "TiffFileName missing.png;\r\n"
    "DefectList\r\n"
    " 7 15.5 25.25 3 1 1 1 1 0;\r\n"
    "SummarySpec 2 TESTNO NDEFECT ;\r\n"
    "SummaryList\r\n"
    " 1 7;\r\n"
    "EndOfFile;\r\n";

// Every {KEY} of the template replaced (a key that does not occur spoils the result).
std::string fill(std::string s, const std::map<std::string, std::string>& values) {
  for (const auto& [k, v] : values) {
    const std::string key = "{" + k + "}";
    if (s.find(key) == std::string::npos) return "<" + key + " missing>";
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), v);
  }
  return s;
}

std::string original12() {
  return fill(kTemplate12, {{"C1", "0"}, {"C2", "NA"}, {"C4", "0"}, {"C5", "5"}, {"LOOKUP", ""}});
}

TEST_F(KlarfCli, Classifies12EndToEnd) {
  const std::string in = original12();
  test::write_bytes(dir / "in.klarf", in);
  const auto r = run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", dir / "out.klarf"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  // The defaults: highest existing number 5, so the model's classes are 6, 7, ... in model order.
  const auto number = [&](int index) { return std::to_string(6 + index); };
  std::string lookup;
  for (size_t c = 0; c < oracle.classes.size(); ++c) lookup += "\r\n " + std::to_string(6 + c) + " \"" + oracle.classes[c] + "\"";
  const int c1 = oracle.index(dir / "review.tif", 1), c2 = oracle.index(dir / "review.tif", 3);
  const int c4 = oracle.index(dir / "review.tif", 2), c5 = oracle.index(dir / "d5.png");
  ASSERT_TRUE(c1 >= 0 && c2 >= 0 && c4 >= 0 && c5 >= 0);
  std::string expect = fill(kTemplate12, {{"C1", number(c1)}, {"C2", number(c2)}, {"C4", number(c4)}, {"C5", number(c5)}, {"LOOKUP", ""}});
  expect = replace_once(expect, "ClassLookup 2\r\n", "ClassLookup 9\r\n");
  expect = replace_once(expect, " 5 \"Old\";", " 5 \"Old\"" + lookup + ";");
  EXPECT_EQ(test::read_bytes(dir / "out.klarf"), expect);
  EXPECT_EQ(test::read_bytes(dir / "in.klarf"), in);  // the input is untouched
  EXPECT_NE(r.out.find("7 defects, 4 classified, 2 without image, 1 image errors"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("warning: line 25: defect 7: missing.png:"), std::string::npos) << r.err;
  // Identical with more engine threads.
  const auto r2 = run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", dir / "out2.klarf", "--threads", "2"});
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(test::read_bytes(dir / "out2.klarf"), expect);
}

TEST_F(KlarfCli, JsonSummary) {
  test::write_bytes(dir / "in.klarf", original12());
  const auto r = run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", dir / "out.klarf", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["version"], "1.2");
  EXPECT_EQ(j["defects"], 7);
  EXPECT_EQ(j["classified"], 4);
  EXPECT_EQ(j["without_image"], 2);
  EXPECT_EQ(j["image_errors"], 1);
  size_t sum = 0;
  for (const auto& [name, count] : j["classes"].items()) sum += count.get<size_t>();
  EXPECT_EQ(sum, 4u);
  EXPECT_EQ(j["class_numbers"]["open"], 6);
  EXPECT_EQ(j["class_numbers"]["none"], 12);
  ASSERT_EQ(j["added_classes"].size(), 7u);
  EXPECT_EQ(j["added_classes"][0]["name"], "open");
}

// --audit: one line per classified defect, naming the image and the defect; appended, never truncated.
TEST_F(KlarfCli, AuditLogLinePerClassifiedDefect) {
  test::write_bytes(dir / "in.klarf", original12());
  test::write_bytes(dir / "audit.jsonl", "{\"earlier\":1}\n");
  const auto r = run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", dir / "out.klarf", "--audit", dir / "audit.jsonl"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<nlohmann::json> lines;
  std::istringstream in(test::read_bytes(dir / "audit.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 5u);  // the earlier line + defects 1, 2, 4, 5
  const char* ids[] = {"1", "2", "4", "5"};
  const uint32_t pages[] = {1, 3, 2, 1};
  const std::string inputs[] = {dir / "review.tif", dir / "review.tif", dir / "review.tif", dir / "d5.png"};
  for (size_t i = 0; i < 4; ++i) {
    const auto& j = lines[i + 1];
    EXPECT_EQ(j["defect_id"], ids[i]);
    EXPECT_EQ(j["page"], pages[i]);
    EXPECT_EQ(j["input"], inputs[i]);
    EXPECT_EQ(j["klarf"], dir / "in.klarf");
    EXPECT_EQ(j["class_number"], 6 + oracle.index(inputs[i], pages[i]));
    EXPECT_EQ(j["model"], "adc-pcb");
  }
  EXPECT_EQ(run_triage({"klarf", "--no-classify", dir / "in.klarf", "-o", dir / "o.klarf", "--audit", dir / "audit.jsonl"}).status, 2);
}

TEST_F(KlarfCli, ClassMapNumbers) {
  test::write_bytes(dir / "in.klarf", original12());
  // short and mousebite share 50; 5 ("Old") exists already and is not added again.
  test::write_bytes(dir / "map.csv", "class_name,number\nopen,100\nshort,50\nmousebite,50\nspur,5\ncopper,104\npin-hole,105\nnone,106\n");
  const auto r = run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", dir / "out.klarf", "--class-map", dir / "map.csv"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::map<std::string, int> map = {{"open", 100}, {"short", 50}, {"mousebite", 50}, {"spur", 5},
                                          {"copper", 104}, {"pin-hole", 105}, {"none", 106}};
  const auto number = [&](int index) { return std::to_string(map.at(oracle.classes[static_cast<size_t>(index)])); };
  std::string expect = fill(kTemplate12, {{"C1", number(oracle.index(dir / "review.tif", 1))}, {"C2", number(oracle.index(dir / "review.tif", 3))},
                                          {"C4", number(oracle.index(dir / "review.tif", 2))}, {"C5", number(oracle.index(dir / "d5.png"))},
                                          {"LOOKUP", ""}});
  expect = replace_once(expect, "ClassLookup 2\r\n", "ClassLookup 7\r\n");
  expect = replace_once(expect, " 5 \"Old\";",
                        " 5 \"Old\"\r\n 100 \"open\"\r\n 50 \"short\"\r\n 104 \"copper\"\r\n 105 \"pin-hole\"\r\n 106 \"none\";");
  EXPECT_EQ(test::read_bytes(dir / "out.klarf"), expect);
  // A map that misses a class is refused, and nothing is written.
  test::write_bytes(dir / "short.csv", "open,1\n");
  const auto bad = run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", dir / "x.klarf", "--class-map", dir / "short.csv"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("class map has no number for the model's class 'short'"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.klarf"));
}

// KLARF 1.8, LF: CLASSNUMBER and AUTOOFFSEMCLASS written, MANSEMCLASS kept; "Short" is in the
// ClassLookupList already and keeps its number 1 (names match case-insensitively).
const char* kTemplate18 =
    "Record FileRecord \"1.8\"\n"
    "{\n"
    "  Record LotRecord \"lot1\"\n"
    "  {\n"
    "    Field DeviceID 1 {\"dev\"}\n"
    "    Field VendorThing 2 {\"x\",   7}\n"
    "    Record WaferRecord \"w1\"\n"
    "    {\n"
    "      Field SlotNumber 1 {1}\n"
    "      List DefectList\n"
    "      {\n"
    "        Columns 6 { int32 DEFECTID, int32 XREL, int32 CLASSNUMBER, int32 AUTOOFFSEMCLASS, int32 MANSEMCLASS, ImageList IMAGEINFO }\n"
    "        Data 5\n"
    "        {\n"
    "          1 100 {C1} {C1} 4 Images 2 { \"img/a.png\" \"PNG\" 1 \"SE\", \"img/b.png\" \"PNG\" 1 \"BSE\" };\n"
    "          2 200 0 0 4 N;\n"
    "          3 300 {C3} {C3} 0 Images 1 { \"img\\c.tif\" \"TIF\" 2 \"SE\" };\n"
    "          4 400 2 2 0 Images 1 { \"../etc/passwd\" \"PNG\" 1 \"SE\" };\n"
    "          5 500\n"
    "            {C5} {C5} 0 Images 1 { \"img/b.png\" \"PNG\" 1 \"SE\" } ;\n"
    "        }\n"
    "      }\n"
    "    }\n"
    "    List ClassLookupList\n"
    "    {\n"
    "      Columns 3 { int32 CLASSNUMBER, string CLASSNAME, string CLASSCODE }\n"
    "      Data {N}\n"
    "      {\n"
    "        0 \"Unclassified\" \"\";\n"
    "        1 \"Short\" \"S\";{LOOKUP}\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "  Field FileTimestamp 2 {\"2026-12-02\", \"08:00:00\"}\n"
    "}\n"
    "EndOfFile;\n";

TEST_F(KlarfCli, Classifies18EndToEnd) {
  const std::string in = fill(kTemplate18, {{"C1", "0"}, {"C3", "NA"}, {"C5", "0"}, {"N", "2"}, {"LOOKUP", ""}});
  test::write_bytes(dir / "in.klarf", in);
  const auto r = run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", dir / "out.klarf", "--json"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  // short keeps 1; the others are 2, 3, ... in model order.
  std::map<std::string, int> numbers;
  std::string lookup;
  int next = 2;
  for (const std::string& c : oracle.classes) {
    if (c == "short") {
      numbers[c] = 1;
      continue;
    }
    numbers[c] = next;
    lookup += "\n        " + std::to_string(next++) + " \"" + c + "\" \"\";";
  }
  const auto number = [&](int index) { return std::to_string(numbers.at(oracle.classes[static_cast<size_t>(index)])); };
  const int c1 = oracle.index(dir / "img/a.png"), c3 = oracle.index(dir / "img/c.tif", 2), c5 = oracle.index(dir / "img/b.png");
  ASSERT_TRUE(c1 >= 0 && c3 >= 0 && c5 >= 0);
  const std::string expect = fill(kTemplate18, {{"C1", number(c1)}, {"C3", number(c3)}, {"C5", number(c5)}, {"N", "8"}, {"LOOKUP", lookup}});
  EXPECT_EQ(test::read_bytes(dir / "out.klarf"), expect);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["version"], "1.8");
  EXPECT_EQ(j["classified"], 3);
  EXPECT_EQ(j["without_image"], 1);
  EXPECT_EQ(j["image_errors"], 1);  // ../etc/passwd is not read
  EXPECT_NE(r.err.find("'..' in the image path"), std::string::npos) << r.err;

  // --auto-column none: CLASSNUMBER only.
  const auto r2 = run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", dir / "out2.klarf", "--auto-column", "none"});
  ASSERT_EQ(r2.status, 0) << r2.err;
  std::string only_class = replace_once(in, "1 100 0 0 4", "1 100 " + number(c1) + " 0 4");
  only_class = replace_once(only_class, "3 300 NA NA", "3 300 " + number(c3) + " NA");
  only_class = replace_once(only_class, "            0 0 0 Images", "            " + number(c5) + " 0 0 Images");
  only_class = replace_once(only_class, "Data 2", "Data 8");
  only_class = replace_once(only_class, "1 \"Short\" \"S\";", "1 \"Short\" \"S\";" + lookup);
  EXPECT_EQ(test::read_bytes(dir / "out2.klarf"), only_class);
}

TEST_F(KlarfCli, NoClassifyRoundTripsEveryFixture) {
  for (const std::string& name : test::good_fixtures()) {
    SCOPED_TRACE(name);
    const std::string out = dir / ("rt_" + name);
    const auto r = run_triage({"klarf", "--no-classify", test::fixture(name), "-o", out});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(test::read_bytes(out) == test::read_bytes(test::fixture(name))) << "not byte-identical";
    EXPECT_NE(r.out.find("not classified (--no-classify)"), std::string::npos) << r.out;
  }
  const auto j = run_triage({"klarf", "--no-classify", test::fixture("klarf12DefectListExample.klarf"), "-o", dir / "x.klarf", "--json"});
  ASSERT_EQ(j.status, 0) << j.err;
  const auto s = nlohmann::json::parse(j.out);
  EXPECT_EQ(s["defects"], 13);
  EXPECT_EQ(s["classified"], 0);
  EXPECT_EQ(s["without_image"], 7);  // images on defects 1, 4, 5, 9, 11, 12
}

TEST_F(KlarfCli, MalformedFilesAreRefusedAndNothingIsWritten) {
  test::write_bytes(dir / "out.klarf", "old");
  for (const std::string& name : test::bad_fixtures()) {
    SCOPED_TRACE(name);
    for (const bool classify : {false, true}) {
      const auto r = classify ? run_triage({"klarf", kModel, test::fixture(name), "--images", dir.path, "-o", dir / "out.klarf"})
                              : run_triage({"klarf", "--no-classify", test::fixture(name), "-o", dir / "out.klarf"});
      EXPECT_EQ(r.status, 1);
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;  // one line
      EXPECT_NE(r.err.find(name + ": line "), std::string::npos) << r.err;
      EXPECT_EQ(test::read_bytes(dir / "out.klarf"), "old");
    }
  }
  // A truncated file, too; and no temp file is left behind.
  const std::string s = original12();
  test::write_bytes(dir / "cut.klarf", s.substr(0, s.size() / 2));
  const auto r = run_triage({"klarf", kModel, dir / "cut.klarf", "--images", dir.path, "-o", dir / "out.klarf"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cut.klarf: line "), std::string::npos) << r.err;
  EXPECT_EQ(test::read_bytes(dir / "out.klarf"), "old");
  for (const std::string& e : dir.entries()) EXPECT_EQ(e.find(".tmp"), std::string::npos) << e;
}

TEST_F(KlarfCli, TheInputIsNeverOverwritten) {
  const std::string in = original12();
  test::write_bytes(dir / "in.klarf", in);
  ASSERT_EQ(::symlink((dir / "in.klarf").c_str(), (dir / "link.klarf").c_str()), 0);
  ASSERT_EQ(::link((dir / "in.klarf").c_str(), (dir / "hard.klarf").c_str()), 0);
  for (const std::string& out : {dir / "in.klarf", dir.path + "/./in.klarf", dir.path + "/img/../in.klarf", dir / "link.klarf", dir / "hard.klarf"}) {
    SCOPED_TRACE(out);
    for (const bool classify : {false, true}) {
      const auto r = classify ? run_triage({"klarf", kModel, dir / "in.klarf", "--images", dir.path, "-o", out})
                              : run_triage({"klarf", "--no-classify", dir / "in.klarf", "-o", out});
      EXPECT_EQ(r.status, 1);
      EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
      EXPECT_EQ(test::read_bytes(dir / "in.klarf"), in);
    }
  }
  struct stat st {};
  ASSERT_EQ(::lstat((dir / "link.klarf").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(KlarfCli, AnExistingOutputIsReplacedWhole) {
  test::write_bytes(dir / "in.klarf", original12());
  test::write_bytes(dir / "out.klarf", std::string(100000, 'z'));
  const auto r = run_triage({"klarf", "--no-classify", dir / "in.klarf", "-o", dir / "out.klarf"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(test::read_bytes(dir / "out.klarf"), original12());
  for (const std::string& e : dir.entries()) EXPECT_EQ(e.find(".tmp"), std::string::npos) << e;
}

TEST_F(KlarfCli, UsageErrors) {
  const std::string in = test::fixture("simple12.klarf");
  EXPECT_EQ(run_triage({"klarf", kModel, in, "-o", dir / "o.klarf"}).status, 2);                      // no --images
  EXPECT_EQ(run_triage({"klarf", kModel, in, "--images", dir.path}).status, 2);                         // no -o
  EXPECT_EQ(run_triage({"klarf", "--no-classify", kModel, in, "-o", dir / "o.klarf"}).status, 2);       // a model with --no-classify
  EXPECT_EQ(run_triage({"klarf", "--no-classify", in, "-o", dir / "o.klarf", "--images", dir.path}).status, 2);
  EXPECT_EQ(run_triage({"klarf", kModel, in, "--images", dir.path, "-o", dir / "o.klarf", "--threads", "0"}).status, 2);
  EXPECT_EQ(run_triage({"klarf", kModel, in, "--images", dir.path, "-o", dir / "o.klarf", "--auto-column", "IMAGELIST"}).status, 2);
  const auto missing = run_triage({"klarf", dir / "nope.trw", in, "--images", dir.path, "-o", dir / "o.klarf"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("model:"), std::string::npos) << missing.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.klarf"));
  const auto help = run_triage({"klarf", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("usage: triage klarf MODEL.trw IN.klarf --images DIR -o OUT.klarf"), std::string::npos);
}

}  // namespace
}  // namespace triage::klarf
