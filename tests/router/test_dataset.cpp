// The labelled-data loader: CSV (extra columns, relative / absolute paths, quoting, malformed lines,
// caps) and folder mode, and the file checks (missing, listed twice).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/router/cli_run.h"
#include "tools/cli/dataset.h"

namespace triage::cli {
namespace {

using test::TmpDir;
using test::write_text;

bool parse(const std::string& text, std::vector<LabelledFile>& out, std::string& err, const std::string& base = "/data") {
  return parse_labels_csv(text, "labels.csv", base, out, err);
}

TEST(Dataset, CsvWithExtraColumnsAndRelativePaths) {
  std::vector<LabelledFile> v;
  std::string err;
  ASSERT_TRUE(parse("lot,label,path,height\nL1,good,maps/a.npy,41\nL2,Scratch,/abs/b.npy,60\n", v, err)) << err;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].path, "/data/maps/a.npy");
  EXPECT_EQ(v[0].label, "good");
  EXPECT_EQ(v[0].line, 2u);
  EXPECT_EQ(v[1].path, "/abs/b.npy");  // absolute paths are kept
  EXPECT_EQ(v[1].label, "Scratch");
}

TEST(Dataset, CsvQuotingCrlfBomAndBlankLines) {
  std::vector<LabelledFile> v;
  std::string err;
  ASSERT_TRUE(parse("\xEF\xBB\xBFpath,label\r\n\"a,b.png\",good\r\n\r\n\"say \"\"hi\"\".png\",\"Edge-Loc\"\r\n", v, err)) << err;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].path, "/data/a,b.png");
  EXPECT_EQ(v[1].path, "/data/say \"hi\".png");
  EXPECT_EQ(v[1].label, "Edge-Loc");
  EXPECT_EQ(v[1].line, 4u);
}

TEST(Dataset, CsvMalformedLinesAreRejectedWithTheirLineNumber) {
  const struct {
    const char* text;
    const char* want;
  } cases[] = {
      {"path,label\n\"a.png,good\n", "labels.csv:2: a quoted field is not closed on its line"},
      {"path,label\na\"b.png,good\n", "labels.csv:2: a quote inside an unquoted field"},
      {"path,label\n\"a.png\"x,good\n", "labels.csv:2: text after the closing quote"},
      {"path,label\na.png,good\nb.png\n", "labels.csv:3: 1 fields, the header has 2"},
      {"path,label\na.png,good,extra\n", "labels.csv:2: 3 fields, the header has 2"},
      {"file,class\na.png,good\n", "labels.csv:1: the header must name the columns 'path' and 'label'"},
      {"path,label,path\na,b,c\n", "labels.csv:1: column 'path' appears twice"},
      {"path,label\na.png,\n", "labels.csv:2: empty label"},
      {"path,label\n,good\n", "labels.csv:2: empty path"},
      {"", "labels.csv: empty (no header line)"},
      {"path,label\n", "labels.csv: no images listed"},
  };
  for (const auto& c : cases) {
    std::vector<LabelledFile> v;
    std::string err;
    EXPECT_FALSE(parse(c.text, v, err)) << c.text;
    EXPECT_NE(err.find(c.want), std::string::npos) << "got: " << err << "\nwant: " << c.want;
  }
}

TEST(Dataset, CsvCapsOnLineLengthColumnsAndLabel) {
  std::vector<LabelledFile> v;
  std::string err;
  EXPECT_FALSE(parse(std::string("path,label\na\0b,good\n", 20), v, err));
  EXPECT_NE(err.find("labels.csv:2: NUL byte"), std::string::npos) << err;
  EXPECT_FALSE(parse("path,label\n" + std::string(kMaxCsvLineBytes + 1, 'a') + ",good\n", v, err));
  EXPECT_NE(err.find("labels.csv:2: line longer than"), std::string::npos) << err;
  std::string wide = "path,label";
  for (size_t i = 0; i < kMaxCsvColumns; ++i) wide += ",c" + std::to_string(i);
  EXPECT_FALSE(parse(wide + "\n", v, err));
  EXPECT_NE(err.find("more than 256 columns"), std::string::npos) << err;
  EXPECT_FALSE(parse("path,label\na.png," + std::string(kMaxLabelBytes + 1, 'x') + "\n", v, err));
  EXPECT_NE(err.find("label longer than"), std::string::npos) << err;
}

TEST(Dataset, LoadCsvChecksFilesExistAndAreListedOnce) {
  TmpDir d;
  std::filesystem::create_directories(d / "img");
  write_text(d / "img/a.png", "x");
  write_text(d / "img/b.png", "x");
  write_text(d / "ok.csv", "path,label\nimg/a.png,good\nimg/b.png,bad\n");
  std::vector<LabelledFile> v;
  std::string err;
  ASSERT_TRUE(load_dataset(d / "ok.csv", v, err)) << err;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].path, d / "img/b.png");  // relative to the CSV's folder, not the working directory

  write_text(d / "missing.csv", "path,label\nimg/a.png,good\nimg/nope.png,bad\n");
  EXPECT_FALSE(load_dataset(d / "missing.csv", v, err));
  EXPECT_NE(err.find("missing.csv:3: " + (d / "img/nope.png") + ": no such file"), std::string::npos) << err;

  write_text(d / "twice.csv", "path,label\nimg/a.png,good\nimg/../img/a.png,good\n");
  EXPECT_FALSE(load_dataset(d / "twice.csv", v, err));
  EXPECT_NE(err.find("listed twice"), std::string::npos) << err;

  EXPECT_FALSE(load_dataset(d / "absent.csv", v, err));
  EXPECT_NE(err.find("absent.csv"), std::string::npos) << err;
}

TEST(Dataset, FolderOfClassSubfolders) {
  TmpDir d;
  for (const char* f : {"good/2.png", "good/1.npy", "scratch/s.pgm", "scratch/notes.txt", ".hidden/x.png", "good/.x.png"}) {
    std::filesystem::create_directories(std::filesystem::path(d / f).parent_path());
    write_text(d / f, "x");
  }
  std::vector<LabelledFile> v;
  std::string err;
  ASSERT_TRUE(load_dataset(d.path, v, err)) << err;
  ASSERT_EQ(v.size(), 3u);  // hidden entries and non-image files skipped; sorted by class, then name
  EXPECT_EQ(v[0].path, d / "good/1.npy");
  EXPECT_EQ(v[0].label, "good");
  EXPECT_EQ(v[1].path, d / "good/2.png");
  EXPECT_EQ(v[2].label, "scratch");

  write_text(d / "loose.png", "x");  // an image with no class folder
  EXPECT_FALSE(load_dataset(d.path, v, err));
  EXPECT_NE(err.find("has no class"), std::string::npos) << err;

  TmpDir empty;
  std::filesystem::create_directories(empty / "good");
  EXPECT_FALSE(load_dataset(empty.path, v, err));
  EXPECT_NE(err.find("no images found"), std::string::npos) << err;
}

}  // namespace
}  // namespace triage::cli
