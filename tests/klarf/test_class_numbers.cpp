// Class numbering for `triage klarf`: the default rule (names already in the ClassLookup keep their
// number, the rest count up from one above the highest) and the --class-map CSV.
#include <gtest/gtest.h>

#include <limits>

#include "tests/klarf/klarf_test_util.h"
#include "tools/klarf/class_numbers.h"

namespace triage::klarf {
namespace {

const std::vector<std::string> kModel = {"good", "particle", "blork"};

TEST(ClassNumbers, DefaultStartsAboveTheHighestAndReusesNames) {
  ClassNumbering n;
  std::string err;
  ASSERT_TRUE(number_classes(kModel, {{-1, "Unclassified"}, {10, "Blork"}}, nullptr, n, err)) << err;
  EXPECT_EQ(n.numbers, (std::vector<int32_t>{11, 12, 10}));
  ASSERT_EQ(n.added.size(), 2u);
  EXPECT_EQ(n.added[0].number, 11);
  EXPECT_EQ(n.added[0].name, "good");
  EXPECT_EQ(n.added[1].number, 12);
  EXPECT_EQ(n.added[1].name, "particle");
}

TEST(ClassNumbers, DefaultFromOne) {
  ClassNumbering n;
  std::string err;
  ASSERT_TRUE(number_classes(kModel, {}, nullptr, n, err)) << err;
  EXPECT_EQ(n.numbers, (std::vector<int32_t>{1, 2, 3}));
  ASSERT_TRUE(number_classes(kModel, {{0, "Unclassified"}, {-5, "x"}}, nullptr, n, err)) << err;
  EXPECT_EQ(n.numbers, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(n.added.size(), 3u);
}

TEST(ClassNumbers, DefaultRefusesPastInt32Max) {
  ClassNumbering n;
  std::string err;
  EXPECT_FALSE(number_classes(kModel, {{std::numeric_limits<int32_t>::max() - 1, "x"}}, nullptr, n, err));
  EXPECT_NE(err.find("no class numbers left"), std::string::npos) << err;
}

TEST(ClassNumbers, MapNumbersEveryClassAndAddsOnlyNewNumbers) {
  const ClassMap map = {{"blork", 10}, {"good", 0}, {"particle", 0}};
  ClassNumbering n;
  std::string err;
  ASSERT_TRUE(number_classes(kModel, {{10, "Blork"}}, &map, n, err)) << err;
  EXPECT_EQ(n.numbers, (std::vector<int32_t>{0, 0, 10}));
  ASSERT_EQ(n.added.size(), 1u);  // 0 once, named after the first class mapped to it; 10 exists
  EXPECT_EQ(n.added[0].number, 0);
  EXPECT_EQ(n.added[0].name, "good");
}

TEST(ClassNumbers, MapMustMatchTheModel) {
  ClassNumbering n;
  std::string err;
  const ClassMap missing = {{"good", 1}, {"particle", 2}};
  EXPECT_FALSE(number_classes(kModel, {}, &missing, n, err));
  EXPECT_EQ(err, "class map has no number for the model's class 'blork'");
  const ClassMap unknown = {{"good", 1}, {"particle", 2}, {"blork", 3}, {"bridge", 4}};
  EXPECT_FALSE(number_classes(kModel, {}, &unknown, n, err));
  EXPECT_EQ(err, "class map names 'bridge', which is not a class of the model");
}

TEST(ClassNumbers, ReadClassMap) {
  test::TempDir dir;
  const std::string path = dir / "map.csv";
  test::write_bytes(path, "class_name,number\r\n# comment\r\n\r\ngood, 0\r\nparticle,-3\r\nblork ,12\r\n");
  ClassMap map;
  std::string err;
  ASSERT_TRUE(read_class_map(path, map, err)) << err;
  EXPECT_EQ(map, (ClassMap{{"good", 0}, {"particle", -3}, {"blork", 12}}));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"good,1\ngood,2\n", "line 2: class 'good' is mapped twice"},
      {"good,1.5\n", "line 1: class number '1.5' is not an integer"},
      {"good,99999999999\n", "line 1: class number '99999999999' is not an integer"},
      {"good,1,2\n", "line 1: expected class_name,number"},
      {"good\n", "line 1: expected class_name,number"},
      {",1\n", "line 1: empty class name"},
  };
  for (const auto& [text, why] : bad) {
    test::write_bytes(path, text);
    EXPECT_FALSE(read_class_map(path, map, err)) << text;
    EXPECT_EQ(err, why);
  }
  EXPECT_FALSE(read_class_map(dir / "absent.csv", map, err));
}

}  // namespace
}  // namespace triage::klarf
