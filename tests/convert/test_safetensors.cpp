// safetensors reader: a valid file reads back exactly; each kind of malformed file is refused with
// an error naming the problem (and the tensor / byte offset where there is one).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "tests/convert/st_writer.h"
#include "tools/convert/safetensors.h"
#include "weights_format/trw.h"

namespace triage::convert {
namespace {

using test::f32_entry;
using test::make_safetensors;
using test::raw_safetensors;

std::vector<uint8_t> bytes_of(std::initializer_list<uint8_t> b) { return std::vector<uint8_t>(b); }

// Parses; on failure returns the message (empty on success).
std::string parse_error(const std::vector<uint8_t>& file, Errc* code = nullptr) {
  StFile f;
  Error err;
  bool ok = parse_safetensors(file, "t.safetensors", f, err);
  if (code) *code = err.code;
  EXPECT_EQ(ok, !err);
  return ok ? "" : err.message;
}

TEST(Safetensors, ValidFileReadsBack) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> a(12), b(5);
  for (auto& x : a) x = u(rng);
  for (auto& x : b) x = u(rng);
  test::StEntry half{"h", "F16", {2}, {}};
  uint16_t h0 = trw::f32_to_f16(1.5f), h1 = trw::f32_to_f16(-0.25f);
  half.bytes.resize(4);
  std::memcpy(half.bytes.data(), &h0, 2);
  std::memcpy(half.bytes.data() + 2, &h1, 2);
  test::StEntry bf{"bf", "BF16", {1}, {}};
  uint16_t b0 = trw::f32_to_bf16(3.0f);
  bf.bytes.resize(2);
  std::memcpy(bf.bytes.data(), &b0, 2);
  test::StEntry dbl{"d", "F64", {2}, std::vector<uint8_t>(16)};
  double dv[2] = {0.125, -7.0};
  std::memcpy(dbl.bytes.data(), dv, 16);
  test::StEntry empty{"e", "F32", {0, 3}, {}};
  test::StEntry scalar{"s", "I64", {}, std::vector<uint8_t>(8, 0)};
  auto file = make_safetensors({f32_entry("b.w", {3, 4}, a), f32_entry("a.v", {5}, b), half, bf, dbl, empty, scalar},
                               {{"format", "pt"}});
  StFile f;
  Error err;
  ASSERT_TRUE(parse_safetensors(file, "t", f, err)) << err.message;
  ASSERT_EQ(f.tensors.size(), 7u);
  ASSERT_EQ(f.metadata.size(), 1u);
  EXPECT_EQ(f.metadata[0].first, "format");
  EXPECT_EQ(f.metadata[0].second, "pt");
  EXPECT_EQ(f.tensors[0].name, "a.v");  // sorted by name
  EXPECT_EQ(f.tensors[1].name, "b.w");
  EXPECT_EQ(f.tensors[1].shape, (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(f.tensors[1].file_offset, 8 + f.header_len + 0);  // b.w was written first
  std::vector<float> v;
  ASSERT_TRUE(st_to_f32(f.tensors[1], v, err));
  EXPECT_EQ(v, a);
  ASSERT_TRUE(st_to_f32(f.tensors[0], v, err));
  EXPECT_EQ(v, b);
  for (const auto& t : f.tensors) {
    if (t.name == "h") {
      ASSERT_TRUE(st_to_f32(t, v, err));
      EXPECT_EQ(v, (std::vector<float>{1.5f, -0.25f}));
    } else if (t.name == "bf") {
      ASSERT_TRUE(st_to_f32(t, v, err));
      EXPECT_EQ(v, (std::vector<float>{3.0f}));
    } else if (t.name == "d") {
      ASSERT_TRUE(st_to_f32(t, v, err));
      EXPECT_EQ(v, (std::vector<float>{0.125f, -7.0f}));
    } else if (t.name == "e") {
      EXPECT_EQ(t.numel, 0u);
      EXPECT_TRUE(t.data.empty());
    } else if (t.name == "s") {
      EXPECT_EQ(t.numel, 1u);  // rank 0
      EXPECT_FALSE(st_to_f32(t, v, err));
      EXPECT_EQ(err.code, Errc::Unsupported);
    }
  }
}

TEST(Safetensors, HeaderTooLong) {
  std::vector<uint8_t> file(64, ' ');
  uint64_t n = kStMaxHeaderBytes + 1;
  for (int i = 0; i < 8; ++i) file[i] = uint8_t(n >> (8 * i));
  std::string msg = parse_error(file);
  EXPECT_NE(msg.find("above the cap"), std::string::npos) << msg;
}

TEST(Safetensors, HeaderLengthPastEndOfFile) {
  auto file = raw_safetensors("{}      ", {});
  file[0] = 200;  // claims 200 header bytes in a 16-byte file
  Errc code;
  std::string msg = parse_error(file, &code);
  EXPECT_EQ(code, Errc::Format);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(Safetensors, TruncatedFile) {
  EXPECT_NE(parse_error(bytes_of({1, 0, 0})).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error({}).find("truncated"), std::string::npos);
  // A valid file cut in the data section: the last tensor's offsets now exceed the data.
  auto file = make_safetensors({f32_entry("x", {4}, {1, 2, 3, 4})});
  file.resize(file.size() - 3);
  std::string msg = parse_error(file);
  EXPECT_NE(msg.find("'x'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("exceed the data section"), std::string::npos) << msg;
}

TEST(Safetensors, OffsetsOutOfRange) {
  std::string h = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  std::string msg = parse_error(raw_safetensors(h, std::vector<uint8_t>(8)));
  EXPECT_NE(msg.find("tensor 'w' at byte"), std::string::npos) << msg;
  EXPECT_NE(msg.find("exceed the data section of 8 bytes"), std::string::npos) << msg;
}

TEST(Safetensors, OffsetsReversed) {
  std::string h = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})";
  std::string msg = parse_error(raw_safetensors(h, std::vector<uint8_t>(16)));
  EXPECT_NE(msg.find("reversed"), std::string::npos) << msg;
}

TEST(Safetensors, OverlappingTensors) {
  std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  std::string msg = parse_error(raw_safetensors(h, std::vector<uint8_t>(12)));
  EXPECT_NE(msg.find("tensor 'b'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overlaps tensor 'a'"), std::string::npos) << msg;
  // Same extent twice is an overlap too; a zero-size tensor inside another is not.
  std::string same = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_NE(parse_error(raw_safetensors(same, std::vector<uint8_t>(8))).find("overlaps"), std::string::npos);
  std::string empty = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})";
  EXPECT_EQ(parse_error(raw_safetensors(empty, std::vector<uint8_t>(8))), "");
}

TEST(Safetensors, DuplicateName) {
  std::string h = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                  R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  std::string msg = parse_error(raw_safetensors(h, std::vector<uint8_t>(8)));
  EXPECT_NE(msg.find("duplicate key 'w'"), std::string::npos) << msg;
  // The offset points at the second occurrence: 8 + its position in the header.
  size_t second = h.find("\"w\"", 2);
  EXPECT_NE(msg.find("at byte " + std::to_string(8 + second)), std::string::npos) << msg;
}

TEST(Safetensors, DuplicateKeyInsideEntry) {
  std::string h = R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})";
  EXPECT_NE(parse_error(raw_safetensors(h, std::vector<uint8_t>(4))).find("duplicate key 'dtype'"), std::string::npos);
}

TEST(Safetensors, UnknownDtype) {
  std::string h = R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})";
  std::string msg = parse_error(raw_safetensors(h, std::vector<uint8_t>(4)));
  EXPECT_NE(msg.find("tensor 'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown dtype 'F8_E4M3'"), std::string::npos) << msg;
}

TEST(Safetensors, BadJson) {
  std::string h = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";  // missing '}'
  std::string msg = parse_error(raw_safetensors(h, std::vector<uint8_t>(4)));
  EXPECT_NE(msg.find("invalid JSON at byte"), std::string::npos) << msg;
  EXPECT_NE(parse_error(raw_safetensors("{\"a\":\xff}", {})).find("invalid JSON"), std::string::npos);
}

TEST(Safetensors, ShapeSizeMismatch) {
  std::string h = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  std::string msg = parse_error(raw_safetensors(h, std::vector<uint8_t>(8)));
  EXPECT_NE(msg.find("tensor 'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("span 8 bytes but shape and dtype F32 need 12"), std::string::npos) << msg;
  // numel * size overflowing 64 bits.
  std::string big = R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})";
  EXPECT_NE(parse_error(raw_safetensors(big, std::vector<uint8_t>(8))).find("overflows"), std::string::npos);
}

TEST(Safetensors, HeaderNotAnObject) {
  EXPECT_NE(parse_error(raw_safetensors("[1,2]", {})).find("not a JSON object"), std::string::npos);
  EXPECT_NE(parse_error(raw_safetensors("\"x\"", {})).find("not a JSON object"), std::string::npos);
}

TEST(Safetensors, MetadataNotStringMap) {
  EXPECT_NE(parse_error(raw_safetensors(R"({"__metadata__":{"a":1}})", {})).find("__metadata__"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_safetensors(R"({"__metadata__":["a"]})", {})).find("__metadata__"), std::string::npos);
}

TEST(Safetensors, CapsOnRankNameCountAndNesting) {
  std::string rank9 = R"({"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})";
  EXPECT_NE(parse_error(raw_safetensors(rank9, std::vector<uint8_t>(1))).find("rank 9"), std::string::npos);
  std::string long_name(kStMaxNameLen + 1, 'n');
  std::string h = "{\"" + long_name + R"(":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_NE(parse_error(raw_safetensors(h, std::vector<uint8_t>(1))).find("name length 257"), std::string::npos);
  std::vector<test::StEntry> many;
  for (uint32_t i = 0; i <= kStMaxTensors; ++i) {
    std::string name = "t";
    name += std::to_string(i);
    many.push_back({name, "U8", {1}, {0}});
  }
  EXPECT_NE(parse_error(make_safetensors(many)).find("4097 tensors"), std::string::npos);
  std::string deep = R"({"w":{"dtype":"U8","shape":[[1]],"data_offsets":[0,1]}})";
  EXPECT_NE(parse_error(raw_safetensors(deep, std::vector<uint8_t>(1))).find("nested deeper"), std::string::npos);
}

TEST(Safetensors, EntryFieldsChecked) {
  auto err_of = [](const std::string& entry) {
    return parse_error(raw_safetensors("{\"w\":" + entry + "}", std::vector<uint8_t>(4)));
  };
  EXPECT_NE(err_of(R"({"dtype":"F32","shape":[1]})").find("needs dtype, shape and data_offsets"), std::string::npos);
  EXPECT_NE(err_of(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})").find("non-negative"), std::string::npos);
  EXPECT_NE(err_of(R"({"dtype":"F32","shape":[1.0],"data_offsets":[0,4]})").find("non-negative"), std::string::npos);
  EXPECT_NE(err_of(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})").find("pair"), std::string::npos);
  EXPECT_NE(err_of(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1})").find("unknown field 'x'"),
            std::string::npos);
  EXPECT_NE(err_of(R"({"dtype":7,"shape":[1],"data_offsets":[0,4]})").find("dtype is not a string"),
            std::string::npos);
  EXPECT_NE(err_of("[]").find("not an object"), std::string::npos);
}

TEST(Safetensors, F64OutOfF32RangeBecomesInf) {
  test::StEntry dbl{"d", "F64", {2}, std::vector<uint8_t>(16)};
  double dv[2] = {1e300, -1e300};
  std::memcpy(dbl.bytes.data(), dv, 16);
  auto file = make_safetensors({dbl});
  StFile f;
  Error err;
  ASSERT_TRUE(parse_safetensors(file, "t", f, err));
  std::vector<float> v;
  ASSERT_TRUE(st_to_f32(f.tensors[0], v, err));
  EXPECT_TRUE(std::isinf(v[0]) && v[0] > 0);
  EXPECT_TRUE(std::isinf(v[1]) && v[1] < 0);
}

}  // namespace
}  // namespace triage::convert
