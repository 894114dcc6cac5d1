// The test-side RawTrw encoder (written from SPEC.md) and trw::Writer produce the same bytes for the
// same content, so the malformed-file tests mutate exactly the layout the writer emits.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace triage::trw
