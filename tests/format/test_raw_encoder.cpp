// The test-side RawTrw encoder (written from SPEC.md) and trw::Writer produce the same bytes for the
// same content, so the malformed-file tests mutate exactly the layout the writer emits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "raw_trw.h"
#include "weights_format/trw.h"

namespace triage::trw {
namespace {

TEST(RawEncoder, MatchesWriterByteForByte) {
  const test::RawTrw raw = test::small_valid_raw();
  Writer w;
  w.set_str("model.name", "tiny");
  w.set_i64("arch.dim", 8);
  w.set_f64("input.mean", 0.5);
  Error err;
  for (const test::RawTensor& t : raw.tensors) {
    std::span<const uint8_t> payload(t.payload);
    std::vector<float> scales;
    if (t.dtype == uint32_t(DType::Q8)) {
      const uint64_t numel = t.dims[0] * t.dims[1];
      scales.resize(t.dims[0]);
      std::memcpy(scales.data(), t.payload.data() + (numel + 3) / 4 * 4, 4 * scales.size());
      payload = payload.first(numel);
    }
    ASSERT_TRUE(w.add_tensor(t.name, DType(t.dtype), t.dims, payload, err, scales)) << err.message;
  }
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.serialize(bytes, err)) << err.message;
  EXPECT_EQ(bytes, raw.encode());
}

// SPEC.md section 12 shows these bytes; keep the document and the writer in step.
TEST(SpecExample, WriterProducesTheDocumentedBytes) {
  Writer w;
  w.set_i64("n", 3);
  const float v[2] = {1.0f, 2.0f};
  const uint64_t dims[1] = {2};
  Error err;
  ASSERT_TRUE(w.add_tensor("t", DType::F32, dims, {reinterpret_cast<const uint8_t*>(v), 8}, err));
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(w.serialize(bytes, err));
  const std::vector<uint8_t> head = {0x89, 0x54, 0x52, 0x57, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x00, 0x00, 0x00, 0x04,
                                     0x03, 0x02, 0x01, 0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
  const std::vector<uint8_t> entries = {
      0x01, 0x00, 0x00, 0x00, 0x6e, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x00, 0x00, 0x00, 0x74, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0xb1, 0xc9, 0xc0, 0x28};
  ASSERT_EQ(bytes.size(), 260u);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), bytes.begin()));
  EXPECT_TRUE(std::equal(entries.begin(), entries.end(), bytes.begin() + 128));
  const uint8_t header_crc[4] = {0x43, 0x2d, 0x46, 0x80}, file_crc[4] = {0x7f, 0x32, 0xb2, 0x96};
  EXPECT_EQ(0, std::memcmp(bytes.data() + 124, header_crc, 4));
  EXPECT_EQ(0, std::memcmp(bytes.data() + 256, file_crc, 4));
  const uint8_t payload[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40};
  EXPECT_EQ(0, std::memcmp(bytes.data() + 192, payload, 8));
  std::vector<uint8_t> empty;
  ASSERT_TRUE(Writer{}.serialize(empty, err));
  ASSERT_EQ(empty.size(), 132u);
  EXPECT_EQ(crc32c({empty.data(), 124}), 0xBAE096EEu);
  EXPECT_EQ(crc32c({empty.data(), 128}), 0x48674BC7u);
}

}  // namespace
}  // namespace triage::trw
