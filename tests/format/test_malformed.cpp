// Hand-made malformed files, one defect each, built with the independent RawTrw encoder (checksums
// recomputed, so each file fails on its defect and not on a CRC): the error code, the byte offset of
// the offending field, and a message that names that offset.
#include <gtest/gtest.h>

#include "aligned_bytes.h"
#include "errc_printer.h"
#include "raw_trw.h"
#include "weights_format/trw.h"

namespace triage::trw {
namespace {

using namespace test;

uint64_t meta_entry_at(const RawTrw& r, size_t i) {
  uint64_t o = r.header_size;
  for (size_t k = 0; k < i; ++k) o += 4 + r.meta[k].key.size() + 4 + r.meta[k].value.size();
  return o;
}

struct TensorFields {
  uint64_t entry, dtype, rank, dims, offset, byte_size, crc;
};

TensorFields tensor_fields(const RawTrw& r, size_t i) {
  uint64_t o = meta_entry_at(r, r.meta.size());
  for (size_t k = 0; k < i; ++k) o += 4 + r.tensors[k].name.size() + 4 + 4 + 8 * r.tensors[k].dims.size() + 8 + 8 + 4;
  const uint64_t l = r.tensors[i].name.size(), rk = r.tensors[i].dims.size();
  return {o, o + 4 + l, o + 8 + l, o + 12 + l, o + 12 + l + 8 * rk, o + 20 + l + 8 * rk, o + 28 + l + 8 * rk};
}

uint64_t header_u64(const std::vector<uint8_t>& f, size_t off) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | f[off + i];
  return v;
}

Error parse_err(const std::vector<uint8_t>& bytes, bool verify = true) {
  AlignedBytes a = aligned_copy(bytes);
  File f;
  Error e;
  ParseOptions opt;
  opt.verify_checksums = verify;
  const bool ok = f.parse(a, e, opt);
  EXPECT_EQ(ok, e.code == Errc::Ok);
  if (!ok) {
    EXPECT_TRUE(f.tensors().empty() && f.metadata().empty()) << "a failed parse hands out nothing";
  }
  return e;
}

void expect_error(const std::vector<uint8_t>& bytes, Errc code, uint64_t offset) {
  const Error e = parse_err(bytes);
  EXPECT_EQ(e.code, code) << errc_name(e.code) << ": " << e.message;
  EXPECT_EQ(e.offset, offset) << e.message;
  EXPECT_NE(e.message.find("offset " + std::to_string(offset)), std::string::npos) << e.message;
  if (code != Errc::Checksum) {
    // The defect is structural: skipping the checksums must not make it pass or change the verdict.
    const Error u = parse_err(bytes, false);
    EXPECT_EQ(u.code, code) << u.message;
    EXPECT_EQ(u.offset, offset) << u.message;
  }
}

void expect_ok(const std::vector<uint8_t>& bytes) {
  const Error e = parse_err(bytes);
  EXPECT_EQ(e.code, Errc::Ok) << e.message;
}

TEST(Malformed, BaselineIsValid) { expect_ok(small_valid_raw().encode()); }

TEST(Malformed, BadMagic) {
  auto r = small_valid_raw();
  r.edit = [](std::vector<uint8_t>& f) { f[1] = 'X'; };
  expect_error(r.encode(), Errc::BadMagic, 0);
  expect_error({'h', 'e', 'l', 'l', 'o'}, Errc::BadMagic, 0);
}

TEST(Malformed, ShortFiles) {
  expect_error({}, Errc::Truncated, 0);
  expect_error({0x89, 'T', 'R'}, Errc::Truncated, 3);
}

TEST(Malformed, MajorPlusOneRefused) {
  auto r = small_valid_raw();
  r.major = 2;
  expect_error(r.encode(), Errc::BadVersion, 8);
  r.major = 0;
  expect_error(r.encode(), Errc::BadVersion, 8);
}

TEST(Malformed, MinorPlusOneAccepted) {
  auto r = small_valid_raw();
  r.minor = kVersionMinor + 1;
  const auto bytes = r.encode();
  AlignedBytes a = aligned_copy(bytes);
  File f;
  Error e;
  ASSERT_TRUE(f.parse(a, e)) << e.message;
  EXPECT_EQ(f.version_minor(), kVersionMinor + 1);
  EXPECT_EQ(f.tensors().size(), 3u);
}

TEST(Malformed, UnknownRequiredFeatureRefused) {
  auto r = small_valid_raw();
  r.required = 1ull << 17;
  expect_error(r.encode(), Errc::UnknownRequiredFeature, 24);
  // The writer can mark one too (a future converter would): the reader still refuses.
  Writer w;
  w.set_required_features(1);
  std::vector<uint8_t> out;
  Error err;
  ASSERT_TRUE(w.serialize(out, err));
  expect_error(out, Errc::UnknownRequiredFeature, 24);
}

TEST(Malformed, UnknownOptionalFeatureAccepted) {
  auto r = small_valid_raw();
  r.optional_bits = (1ull << 40) | 1;
  AlignedBytes a = aligned_copy(r.encode());
  File f;
  Error e;
  ASSERT_TRUE(f.parse(a, e)) << e.message;
  EXPECT_EQ(f.optional_features(), (1ull << 40) | 1);
}

TEST(Malformed, UnknownMetadataKeyAccepted) {
  auto r = small_valid_raw();
  r.meta.push_back(meta_str("future.some_new_key", "x"));
  AlignedBytes a = aligned_copy(r.encode());
  File f;
  Error e;
  ASSERT_TRUE(f.parse(a, e)) << e.message;
  ASSERT_NE(f.find_meta("future.some_new_key"), nullptr);
  EXPECT_EQ(f.find_meta("future.some_new_key")->s, "x");
}

TEST(Malformed, HeaderExtensionAccepted) {
  auto r = small_valid_raw();
  r.header_size = 192;
  r.edit = [](std::vector<uint8_t>& f) { f[150] = 0x5A; };  // a field a later minor version defined
  expect_ok(r.encode());
}

TEST(Malformed, BigEndianMarker) {
  auto r = small_valid_raw();
  r.header_override[12] = 0x04030201;
  expect_error(r.encode(), Errc::BadEndian, 12);
  EXPECT_NE(parse_err(r.encode()).message.find("big-endian"), std::string::npos);
}

TEST(Malformed, HeaderSizeInvalid) {
  auto r = small_valid_raw();
  r.header_override[16] = 130;
  r.fix_header_crc = false;
  expect_error(r.encode(), Errc::BadValue, 16);
  r.header_override[16] = 8192;
  expect_error(r.encode(), Errc::BadValue, 16);
}

TEST(Malformed, ReservedNotZero) {
  auto r = small_valid_raw();
  r.header_override[44] = 1;
  expect_error(r.encode(), Errc::BadValue, 44);
  auto r2 = small_valid_raw();
  r2.header_override[110] = 1;
  expect_error(r2.encode(), Errc::BadValue, 110);
}

TEST(Malformed, Rank9) {
  auto r = small_valid_raw();
  r.tensors[0].dims = {1, 1, 1, 1, 1, 1, 1, 3, 5};
  expect_error(r.encode(), Errc::LimitExceeded, tensor_fields(r, 0).rank);
}

TEST(Malformed, DimProductOverflowsU64) {
  auto r = small_valid_raw();
  r.tensors[0].dims = {1ull << 32, 1ull << 32, 1ull << 32};
  expect_error(r.encode(), Errc::Overflow, tensor_fields(r, 0).dims);
}

TEST(Malformed, DimAboveCap) {
  auto r = small_valid_raw();
  r.tensors[0].dims = {3, (1ull << 32) + 1};
  expect_error(r.encode(), Errc::LimitExceeded, tensor_fields(r, 0).dims + 8);
}

TEST(Malformed, NumelAboveCap) {
  auto r = small_valid_raw();
  r.tensors[0].dims = {1ull << 32, 8};  // 2^35 elements > kMaxNumel
  expect_error(r.encode(), Errc::LimitExceeded, tensor_fields(r, 0).dims);
}

TEST(Malformed, ByteSizeNotMatching) {
  auto r = small_valid_raw();
  r.tensors[0].nbytes = r.tensors[0].payload.size() + 4;
  expect_error(r.encode(), Errc::BadValue, tensor_fields(r, 0).byte_size);
  auto q = small_valid_raw();
  q.tensors[2].nbytes = 6 + 8;  // q8 without the padding to 4 before the scales
  expect_error(q.encode(), Errc::BadValue, tensor_fields(q, 2).byte_size);
}

TEST(Malformed, OffsetUnaligned) {
  auto r = small_valid_raw();
  const uint64_t doff = header_u64(r.encode(), 80);
  r.tensors[0].offset = doff + 8;
  expect_error(r.encode(), Errc::BadValue, tensor_fields(r, 0).offset);
}

TEST(Malformed, TensorOutsideFile) {
  auto r = small_valid_raw();
  r.tensors[0].offset = 1ull << 20;
  expect_error(r.encode(), Errc::Overlap, tensor_fields(r, 0).offset);
  auto r2 = small_valid_raw();
  r2.tensors[0].offset = 64;  // inside the file but before the data section
  expect_error(r2.encode(), Errc::Overlap, tensor_fields(r2, 0).offset);
  auto r3 = small_valid_raw();
  r3.tensors[0].dims = {4, 20};
  r3.tensors[0].payload = f32_payload(80, 1);
  r3.tensors[0].offset = ~uint64_t(63);  // offset + byte_size (320) overflows
  expect_error(r3.encode(), Errc::Overflow, tensor_fields(r3, 0).byte_size);
}

TEST(Malformed, TwoTensorsOverlapping) {
  auto r = small_valid_raw();
  const uint64_t doff = header_u64(r.encode(), 80);
  r.tensors[1].offset = doff;  // the f16 payload (14 bytes) inside the f32 one (60 bytes)
  // In offset order the shorter one comes first; the f32 tensor then starts inside it.
  expect_error(r.encode(), Errc::Overlap, tensor_fields(r, 0).offset);
}

TEST(Malformed, DuplicateTensorName) {
  auto r = small_valid_raw();
  r.tensors[2].name = "a.weight";
  expect_error(r.encode(), Errc::Duplicate, tensor_fields(r, 2).entry);
}

TEST(Malformed, DuplicateKey) {
  auto r = small_valid_raw();
  r.meta[2].key = "model.name";
  expect_error(r.encode(), Errc::Duplicate, meta_entry_at(r, 2));
}

TEST(Malformed, NameTooLong) {
  auto r = small_valid_raw();
  r.tensors[1].name = std::string(kMaxNameLen + 1, 'n');
  expect_error(r.encode(), Errc::LimitExceeded, tensor_fields(r, 1).entry);
  auto k = small_valid_raw();
  k.meta[1].key = std::string(kMaxNameLen + 1, 'k');
  expect_error(k.encode(), Errc::LimitExceeded, meta_entry_at(k, 1));
}

TEST(Malformed, EmptyOrNulName) {
  auto r = small_valid_raw();
  r.tensors[1].name = "";
  expect_error(r.encode(), Errc::BadValue, tensor_fields(r, 1).entry);
  auto n = small_valid_raw();
  n.tensors[1].name = std::string("b\0bias", 6);
  expect_error(n.encode(), Errc::BadValue, tensor_fields(n, 1).entry + 4 + 1);
}

TEST(Malformed, StringLengthHuge) {
  auto r = small_valid_raw();
  r.meta[0].value = enc_u32(0xFFFFFFFFu);
  const uint64_t len_at = meta_entry_at(r, 0) + 4 + r.meta[0].key.size() + 4;
  expect_error(r.encode(), Errc::LimitExceeded, len_at);
  auto t = small_valid_raw();
  t.meta[0].value = enc_u32(100000);  // under the cap, past the section end
  expect_error(t.encode(), Errc::Truncated, len_at + 4);
  auto n = small_valid_raw();
  n.meta[0].value = enc_str(std::string("ti\0y", 4));
  expect_error(n.encode(), Errc::BadValue, len_at + 4 + 2);
}

TEST(Malformed, KeyLengthHuge) {
  auto r = small_valid_raw();
  r.meta[1].key_len = 0xFFFFFFF0u;
  expect_error(r.encode(), Errc::LimitExceeded, meta_entry_at(r, 1));
}

TEST(Malformed, ArrayCountHuge) {
  auto r = small_valid_raw();
  r.meta.push_back(RawMeta{"arr", 4, enc_u32(kMaxArrayLen + 1), {}});
  expect_error(r.encode(), Errc::LimitExceeded, meta_entry_at(r, 3) + 4 + 3 + 4);
  auto t = small_valid_raw();
  t.meta.push_back(RawMeta{"arr", 6, enc_u32(1000), {}});  // 1000 strings announced, none present
  expect_error(t.encode(), Errc::Truncated, meta_entry_at(t, 3) + 4 + 3 + 4 + 4);
}

TEST(Malformed, UnknownMetadataType) {
  auto r = small_valid_raw();
  r.meta[1].type = 7;
  expect_error(r.encode(), Errc::BadValue, meta_entry_at(r, 1) + 4 + r.meta[1].key.size());
}

TEST(Malformed, TensorCountHuge) {
  auto r = small_valid_raw();
  r.header_override[40] = 0xFFFFFFFFu;
  expect_error(r.encode(), Errc::LimitExceeded, 40);
  auto m = small_valid_raw();
  m.header_override[20] = kMaxMetadata + 1;
  expect_error(m.encode(), Errc::LimitExceeded, 20);
}

TEST(Malformed, CountsDisagreeWithSections) {
  auto r = small_valid_raw();
  r.header_override[40] = 4;  // one entry more than the table holds
  expect_error(r.encode(), Errc::Truncated, tensor_fields(r, 2).crc + 4);
  auto s = small_valid_raw();
  s.header_override[40] = 2;  // the third entry is left over
  expect_error(s.encode(), Errc::BadValue, tensor_fields(s, 2).entry);
  auto m = small_valid_raw();
  m.header_override[20] = 2;
  expect_error(m.encode(), Errc::BadValue, meta_entry_at(m, 2));
}

TEST(Malformed, LayoutFieldsInconsistent) {
  auto r = small_valid_raw();
  const auto good = r.encode();
  r.header_override[56] = header_u64(good, 56) + 1;  // metadata_size
  expect_error(r.encode(), Errc::BadValue, 64);
  auto o = small_valid_raw();
  o.header_override[48] = 136;  // metadata_offset
  expect_error(o.encode(), Errc::BadValue, 48);
  auto d = small_valid_raw();
  d.header_override[80] = header_u64(good, 80) + 64;  // data_offset
  expect_error(d.encode(), Errc::BadValue, 80);
  auto z = small_valid_raw();
  z.header_override[88] = header_u64(good, 88) + 1;  // data_size not a multiple of 64
  expect_error(z.encode(), Errc::BadValue, 88);
  auto t = small_valid_raw();
  t.header_override[72] = ~uint64_t(0) - 10;  // tensor table end overflows
  expect_error(t.encode(), Errc::Overflow, 72);
  auto dov = small_valid_raw();
  dov.header_override[88] = ~uint64_t(63);  // data_offset + data_size overflows
  expect_error(dov.encode(), Errc::Overflow, 88);
  auto big = small_valid_raw();
  big.header_override[56] = kMaxMetadataSize + 1;
  expect_error(big.encode(), Errc::LimitExceeded, 56);
}

TEST(Malformed, FileSizeWrong) {
  auto r = small_valid_raw();
  r.header_override[96] = kMaxFileSize + 1;
  expect_error(r.encode(), Errc::LimitExceeded, 96);
  auto s = small_valid_raw();
  s.header_override[96] = 100;
  expect_error(s.encode(), Errc::BadValue, 96);
  auto t = small_valid_raw();
  auto bytes = t.encode();
  const uint64_t n = bytes.size();
  bytes.resize(n + 64, 0);  // trailing bytes beyond file_size
  expect_error(bytes, Errc::BadValue, n);
}

TEST(Malformed, BadDtypeId) {
  for (uint32_t id : {0u, 5u, 0xFFFFFFFFu}) {
    auto r = small_valid_raw();
    r.tensors[0].dtype = id;
    expect_error(r.encode(), Errc::BadValue, tensor_fields(r, 0).dtype);
  }
}

TEST(Malformed, Q8RankZero) {
  auto r = small_valid_raw();
  r.tensors[2].dims = {};
  r.tensors[2].payload = std::vector<uint8_t>(4, 0);
  expect_error(r.encode(), Errc::BadValue, tensor_fields(r, 2).rank);
}

TEST(Malformed, PaddingNotZero) {
  auto r = small_valid_raw();
  const uint64_t doff = header_u64(r.encode(), 80);
  r.edit = [doff](std::vector<uint8_t>& f) { f[doff + 60] = 1; };  // after the 60-byte f32 payload
  // Its CRC still matches: the byte is padding, not payload; the padding rule catches it.
  expect_error(r.encode(), Errc::BadValue, doff + 60);
  auto q = small_valid_raw();
  q.tensors[2].payload[6] = 9;  // q8 padding between the int8s and the scales
  expect_error(q.encode(), Errc::BadValue, doff + 128 + 6);
  auto t = small_valid_raw();
  const uint64_t tend = tensor_fields(t, 2).crc + 4;
  ASSERT_LT(tend, doff);
  t.edit = [tend](std::vector<uint8_t>& f) { f[tend] = 1; };  // padding before the data section
  expect_error(t.encode(), Errc::BadValue, tend);
}

TEST(Malformed, DataSectionLongerThanPayloads) {
  auto r = small_valid_raw();
  const auto good = r.encode();
  r.header_override[88] = header_u64(good, 88) + 64;
  r.header_override[96] = good.size() + 64;
  r.edit = [](std::vector<uint8_t>& f) { f.insert(f.end() - 4, 64, 0); };
  expect_error(r.encode(), Errc::BadValue, 88);
}

TEST(Malformed, BadHeaderCrc) {
  auto r = small_valid_raw();
  r.fix_header_crc = false;  // leaves the header CRC field zero
  expect_error(r.encode(), Errc::Checksum, 124);
}

TEST(Malformed, BadPayloadCrc) {
  auto r = small_valid_raw();
  r.tensors[1].crc = 0x12345678;
  const uint64_t doff = header_u64(r.encode(), 80);
  expect_error(r.encode(), Errc::Checksum, doff + 64);
  // The check is skippable only on purpose, and then the file parses.
  EXPECT_EQ(parse_err(r.encode(), false).code, Errc::Ok);
}

TEST(Malformed, BadFileCrc) {
  auto r = small_valid_raw();
  r.fix_file_crc = false;
  const auto bytes = r.encode();
  expect_error(bytes, Errc::Checksum, bytes.size() - 4);
}

TEST(Malformed, MisalignedBuffer) {
  const auto bytes = small_valid_raw().encode();
  AlignedBytes a(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), a.begin() + 1);
  File f;
  Error e;
  EXPECT_FALSE(f.parse({a.data() + 1, bytes.size()}, e));
  EXPECT_EQ(e.code, Errc::BadValue);
  EXPECT_NE(e.message.find("aligned"), std::string::npos);
}

TEST(Malformed, FailedParseClearsAPreviousOne) {
  AlignedBytes good = aligned_copy(small_valid_raw().encode());
  File f;
  Error e;
  ASSERT_TRUE(f.parse(good, e));
  ASSERT_EQ(f.tensors().size(), 3u);
  auto r = small_valid_raw();
  r.major = 2;
  AlignedBytes bad = aligned_copy(r.encode());
  EXPECT_FALSE(f.parse(bad, e));
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_EQ(f.version_major(), 0);
}

}  // namespace
}  // namespace triage::trw
