// Write then read: tensors (every dtype, ranks 0..8, dims of 1 and 0) and metadata (every type, edge
// values) come back bit-identical, in insertion order, aligned as promised; in memory and via a file.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <span>

#include "aligned_bytes.h"
#include "errc_printer.h"
#include "weights_format/trw.h"

namespace triage::trw {
namespace {

using test::aligned_copy;

struct Spec {
  std::string name;
  DType dtype;
  std::vector<uint64_t> dims;
  std::vector<uint8_t> payload;  // element bytes (q8: the int8s)
  std::vector<float> scales;
};

uint64_t numel_of(const std::vector<uint64_t>& dims) {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

std::vector<Spec> all_specs(uint32_t seed) {
  const std::vector<std::vector<uint64_t>> shapes = {
      {}, {1}, {7}, {1, 1}, {3, 1, 5}, {2, 3, 4, 5}, {1, 1, 1, 1, 1, 1, 1, 2}, {5, 1}, {0}, {3, 0}, {4, 17}};
  std::mt19937 rng(seed);
  std::vector<Spec> out;
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::Q8}) {
    for (size_t s = 0; s < shapes.size(); ++s) {
      if (dt == DType::Q8 && shapes[s].empty()) continue;  // q8 needs an output channel dim
      Spec sp{std::string(dtype_name(dt)) + ".t" + std::to_string(s), dt, shapes[s], {}, {}};
      const uint64_t n = numel_of(sp.dims);
      sp.payload.resize(n * dtype_elem_size(dt));
      for (auto& b : sp.payload) b = uint8_t(rng());  // any bit pattern, NaNs included, must survive
      if (dt == DType::Q8) {
        sp.scales.resize(sp.dims[0]);
        for (float& f : sp.scales) f = std::ldexp(float(rng() % 1000 + 1), -12);
      }
      out.push_back(sp);
    }
  }
  return out;
}

void fill_metadata(Writer& w) {
  w.set_i64("i.zero", 0);
  w.set_i64("i.min", std::numeric_limits<int64_t>::min());
  w.set_i64("i.max", std::numeric_limits<int64_t>::max());
  w.set_f64("f.pi", 3.141592653589793);
  w.set_f64("f.negzero", -0.0);
  w.set_f64("f.nan", std::bit_cast<double>(0x7FF8000000000123ull));
  w.set_f64("f.inf", -std::numeric_limits<double>::infinity());
  w.set_f64("f.denorm", std::numeric_limits<double>::denorm_min());
  w.set_str("s.empty", "");
  w.set_str("s.text", "défaut \xff\xfe not utf-8 on purpose");
  w.set_str("s.json", R"({"a": [1, 2], "b": "c"})");
  w.set_i64_array("ia.empty", {});
  w.set_i64_array("ia.vals", {-1, 0, 1, std::numeric_limits<int64_t>::max()});
  w.set_f64_array("fa.empty", {});
  w.set_f64_array("fa.vals", {1e-300, -2.5, std::numeric_limits<double>::quiet_NaN()});
  w.set_str_array("sa.empty", {});
  w.set_str_array("sa.vals", {"", "good", std::string(300, 'x')});
  w.set_str(std::string(kMaxNameLen, 'k'), "longest key");
}

bool same_value(const MetaValue& a, const MetaValue& b) {
  if (a.type != b.type) return false;
  auto fbits = [](std::span<const double> v) {
    std::vector<uint64_t> o;
    for (double d : v) o.push_back(std::bit_cast<uint64_t>(d));
    return o;
  };
  switch (a.type) {
    case MetaType::I64: return a.i == b.i;
    case MetaType::F64: return std::bit_cast<uint64_t>(a.f) == std::bit_cast<uint64_t>(b.f);
    case MetaType::Str: return a.s == b.s;
    case MetaType::I64Array: return std::ranges::equal(a.ia, b.ia);
    case MetaType::F64Array: return fbits(a.fa) == fbits(b.fa);
    case MetaType::StrArray: return std::ranges::equal(a.sa, b.sa);
  }
  return false;
}

void build(Writer& w, const std::vector<Spec>& specs) {
  fill_metadata(w);
  for (const Spec& s : specs) {
    Error err;
    ASSERT_TRUE(w.add_tensor(s.name, s.dtype, s.dims, s.payload, err, s.scales)) << s.name << ": " << err.message;
  }
}

// Compares f with what was written: metadata against a fresh parse of fill_metadata's entries.
void check(const File& f, const std::vector<Spec>& specs) {
  Writer expect;
  fill_metadata(expect);
  std::vector<uint8_t> expect_bytes;
  Error err;
  ASSERT_TRUE(expect.serialize(expect_bytes, err));
  File ef;
  auto eb = aligned_copy(expect_bytes);
  ASSERT_TRUE(ef.parse(eb, err)) << err.message;
  ASSERT_EQ(f.metadata().size(), ef.metadata().size());
  for (size_t i = 0; i < f.metadata().size(); ++i) {
    EXPECT_EQ(f.metadata()[i].key, ef.metadata()[i].key) << "insertion order kept";
    EXPECT_TRUE(same_value(f.metadata()[i].value, ef.metadata()[i].value)) << f.metadata()[i].key;
  }
  ASSERT_EQ(f.tensors().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const Spec& s = specs[i];
    const TensorView& t = f.tensors()[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(t.name, s.name);
    EXPECT_EQ(t.dtype, s.dtype);
    ASSERT_EQ(t.rank, s.dims.size());
    for (uint32_t d = 0; d < t.rank; ++d) EXPECT_EQ(t.dims[d], s.dims[d]);
    EXPECT_EQ(t.numel, numel_of(s.dims));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 64, 0u);
    EXPECT_EQ(t.offset % 64, 0u);
    ASSERT_GE(t.nbytes, s.payload.size());
    if (!s.payload.empty()) {
      EXPECT_EQ(0, std::memcmp(t.data, s.payload.data(), s.payload.size()));
    }
    EXPECT_EQ(t.crc32c, crc32c({t.data, size_t(t.nbytes)}));
    EXPECT_EQ(f.find_tensor(s.name), &t);
    if (s.dtype == DType::Q8) {
      ASSERT_NE(t.scales, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.scales) % 4, 0u);
      EXPECT_EQ(t.nbytes, (t.numel + 3) / 4 * 4 + 4 * t.dims[0]);
      for (size_t c = 0; c < s.scales.size(); ++c) EXPECT_EQ(t.scales[c], s.scales[c]);
    } else {
      EXPECT_EQ(t.scales, nullptr);
      EXPECT_EQ(t.nbytes, s.payload.size());
    }
  }
}

TEST(RoundTrip, InMemoryEveryDtypeRankAndMetaType) {
  const auto specs = all_specs(1);
  Writer w;
  build(w, specs);
  std::vector<uint8_t> bytes;
  Error err;
  ASSERT_TRUE(w.serialize(bytes, err)) << err.message;
  auto buf = aligned_copy(bytes);
  File f;
  ASSERT_TRUE(f.parse(buf, err)) << err.message;
  EXPECT_EQ(f.version_major(), kVersionMajor);
  EXPECT_EQ(f.version_minor(), kVersionMinor);
  EXPECT_EQ(f.file_crc32c(), crc32c({buf.data(), buf.size() - 4}));
  check(f, specs);
  // Serialising is deterministic.
  std::vector<uint8_t> again;
  ASSERT_TRUE(w.serialize(again, err));
  EXPECT_EQ(again, bytes);
}

TEST(RoundTrip, ThroughAFile) {
  const auto specs = all_specs(2);
  Writer w;
  build(w, specs);
  const auto dir = std::filesystem::path(::testing::TempDir()) / "trw_roundtrip";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "model.trw").string();
  Error err;
  ASSERT_TRUE(w.write_file(path, err)) << err.message;
  Buffer buf;
  ASSERT_TRUE(buf.read_file(path, err)) << err.message;
  File f;
  ASSERT_TRUE(f.parse(buf.span(), err)) << err.message;
  check(f, specs);
  std::filesystem::remove_all(dir);
}

TEST(RoundTrip, CopyMetadataAndReplaceInPlace) {
  Writer w;
  fill_metadata(w);
  std::vector<uint8_t> bytes;
  Error err;
  ASSERT_TRUE(w.serialize(bytes, err));
  auto buf = aligned_copy(bytes);
  File f;
  ASSERT_TRUE(f.parse(buf, err));
  Writer w2;
  w2.copy_metadata_from(f);
  w2.set_f64("i.min", 2.0);  // replacing keeps the position and changes the type
  std::vector<uint8_t> bytes2;
  ASSERT_TRUE(w2.serialize(bytes2, err));
  auto buf2 = aligned_copy(bytes2);
  File f2;
  ASSERT_TRUE(f2.parse(buf2, err));
  ASSERT_EQ(f2.metadata().size(), f.metadata().size());
  EXPECT_EQ(f2.metadata()[1].key, "i.min");
  double d = 0;
  EXPECT_TRUE(f2.get_f64("i.min", d, err));
  EXPECT_EQ(d, 2.0);
  for (size_t i = 2; i < f.metadata().size(); ++i)
    EXPECT_TRUE(same_value(f.metadata()[i].value, f2.metadata()[i].value)) << f.metadata()[i].key;
}

TEST(RoundTrip, TypedGetters) {
  Writer w;
  fill_metadata(w);
  std::vector<uint8_t> bytes;
  Error err;
  ASSERT_TRUE(w.serialize(bytes, err));
  auto buf = aligned_copy(bytes);
  File f;
  ASSERT_TRUE(f.parse(buf, err));
  int64_t i = 0;
  double d = 0;
  std::string s;
  std::vector<int64_t> ia;
  std::vector<double> fa;
  std::vector<std::string> sa;
  EXPECT_TRUE(f.get_i64("i.max", i, err));
  EXPECT_EQ(i, std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(f.get_f64("f.pi", d, err));
  EXPECT_EQ(d, 3.141592653589793);
  EXPECT_TRUE(f.get_str("s.json", s, err));
  EXPECT_EQ(s, R"({"a": [1, 2], "b": "c"})");
  EXPECT_TRUE(f.get_i64_array("ia.vals", ia, err));
  EXPECT_EQ(ia.size(), 4u);
  EXPECT_TRUE(f.get_f64_array("fa.vals", fa, err));
  EXPECT_TRUE(std::isnan(fa.at(2)));
  EXPECT_TRUE(f.get_str_array("sa.vals", sa, err));
  EXPECT_EQ(sa.at(1), "good");
  EXPECT_FALSE(f.get_i64("no.such.key", i, err));
  EXPECT_EQ(err.code, Errc::NotFound);
  EXPECT_NE(err.message.find("no.such.key"), std::string::npos);
  EXPECT_FALSE(f.get_str("i.max", s, err));
  EXPECT_EQ(err.code, Errc::TypeMismatch);
  EXPECT_FALSE(f.get_f64_array("sa.vals", fa, err));
  EXPECT_EQ(err.code, Errc::TypeMismatch);
  EXPECT_EQ(f.find_meta("nope"), nullptr);
  EXPECT_EQ(f.find_tensor("nope"), nullptr);
}

TEST(RoundTrip, EmptyFile) {
  Writer w;
  std::vector<uint8_t> bytes;
  Error err;
  ASSERT_TRUE(w.serialize(bytes, err));
  EXPECT_EQ(bytes.size(), 128u + 4u);
  auto buf = aligned_copy(bytes);
  File f;
  ASSERT_TRUE(f.parse(buf, err)) << err.message;
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_TRUE(f.tensors().empty());
}

TEST(Writer, RefusesWhatTheReaderWouldRefuse) {
  Writer w;
  Error err;
  const std::vector<uint8_t> four(4, 0);
  const uint64_t d1[] = {1};
  EXPECT_TRUE(w.add_tensor("a", DType::F32, d1, four, err));
  EXPECT_FALSE(w.add_tensor("a", DType::F32, d1, four, err));
  EXPECT_EQ(err.code, Errc::Duplicate);
  EXPECT_FALSE(w.add_tensor("", DType::F32, d1, four, err));
  EXPECT_EQ(err.code, Errc::BadValue);
  EXPECT_FALSE(w.add_tensor(std::string("a\0b", 3), DType::F32, d1, four, err));
  EXPECT_EQ(err.code, Errc::BadValue);
  EXPECT_FALSE(w.add_tensor(std::string(kMaxNameLen + 1, 'n'), DType::F32, d1, four, err));
  EXPECT_EQ(err.code, Errc::LimitExceeded);
  EXPECT_FALSE(w.add_tensor("b", DType::F32, d1, std::vector<uint8_t>(3), err));  // size mismatch
  EXPECT_EQ(err.code, Errc::BadValue);
  EXPECT_FALSE(w.add_tensor("c", DType(9), d1, four, err));
  EXPECT_EQ(err.code, Errc::BadValue);
  const uint64_t d9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_FALSE(w.add_tensor("d", DType::F32, d9, four, err));
  EXPECT_EQ(err.code, Errc::LimitExceeded);
  const uint64_t big[3] = {1ull << 32, 1ull << 32, 1ull << 32};
  EXPECT_FALSE(w.add_tensor("e", DType::F32, big, four, err));
  EXPECT_EQ(err.code, Errc::Overflow);
  const uint64_t d2[] = {2, 2};
  const float one_scale[] = {1.0f};
  EXPECT_FALSE(w.add_tensor("q", DType::Q8, d2, four, err, one_scale));  // needs 2 scales
  EXPECT_EQ(err.code, Errc::BadValue);
  EXPECT_FALSE(w.add_tensor("f", DType::F32, d1, four, err, one_scale));  // scales only for q8
  EXPECT_EQ(err.code, Errc::BadValue);
  EXPECT_FALSE(w.add_tensor("q0", DType::Q8, {}, std::vector<uint8_t>(1), err));  // q8 of rank 0
  EXPECT_EQ(err.code, Errc::BadValue);
  std::vector<uint8_t> out;
  Writer m;
  m.set_str("k", std::string("nul\0inside", 10));
  EXPECT_FALSE(m.serialize(out, err));
  EXPECT_EQ(err.code, Errc::BadValue);
  Writer m2;
  m2.set_str("", "empty key");
  EXPECT_FALSE(m2.serialize(out, err));
  EXPECT_EQ(err.code, Errc::BadValue);
  Writer m3;
  m3.set_str("big", std::string(kMaxStringLen + 1, 'x'));
  EXPECT_FALSE(m3.serialize(out, err));
  EXPECT_EQ(err.code, Errc::LimitExceeded);
  Writer m4;
  m4.set_i64_array("arr", std::vector<int64_t>(kMaxArrayLen + 1));
  EXPECT_FALSE(m4.serialize(out, err));
  EXPECT_EQ(err.code, Errc::LimitExceeded);
}

}  // namespace
}  // namespace triage::trw
