// The signature trailer's layout (weights_format/signed_file.h, SPEC.md section 13): what is a signed
// file, what is not, and every malformed trailer field refused with its offset. No cryptography here:
// the signature bytes are arbitrary (tests/runtime/test_signed_models.cpp signs and verifies).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/format/aligned_bytes.h"
#include "tests/format/model_like.h"
#include "weights_format/le_bytes.h"
#include "weights_format/signed_file.h"

namespace triage::trw {
namespace {

test::AlignedBytes with_trailer(const std::vector<uint8_t>& model) {
  test::AlignedBytes out = test::aligned_copy(model);
  out.resize(model.size() + kSigTrailerSize);
  uint8_t key[kSigPublicKeySize];
  for (size_t i = 0; i < sizeof key; ++i) key[i] = static_cast<uint8_t>(0x11 * i + 3);
  build_sig_trailer(model.size(), key, out.data() + model.size());
  for (size_t i = 0; i < kSigSignatureSize; ++i) out[model.size() + kSigSignatureOff + i] = static_cast<uint8_t>(i * 7 + 1);
  return out;
}

TEST(SignedFile, UnsignedFileIsPassedThroughWhole) {
  const test::AlignedBytes model = test::aligned_copy(test::model_like_file(1, 2));
  SignedFile sf;
  Error err;
  ASSERT_TRUE(split_signed(std::span<const uint8_t>(model.data(), model.size()), sf, err)) << err.message;
  EXPECT_FALSE(sf.is_signed);
  EXPECT_EQ(sf.model.data(), model.data());
  EXPECT_EQ(sf.model.size(), model.size());
}

TEST(SignedFile, TrailerIsFoundAndItsFieldsExposed) {
  const std::vector<uint8_t> model = test::model_like_file(2, 2);
  const test::AlignedBytes s = with_trailer(model);
  SignedFile sf;
  Error err;
  ASSERT_TRUE(split_signed(std::span<const uint8_t>(s.data(), s.size()), sf, err)) << err.message;
  ASSERT_TRUE(sf.is_signed);
  EXPECT_EQ(sf.model.size(), model.size());
  EXPECT_EQ(sf.message.size(), model.size() + kSigSignatureOff);  // the signature covers all but itself
  EXPECT_EQ(sf.public_key, s.data() + model.size() + kSigKeyOff);
  EXPECT_EQ(sf.signature, s.data() + model.size() + kSigSignatureOff);
  EXPECT_EQ(key_id(sf.public_key), "031425364758697a");
  File f;
  EXPECT_TRUE(parse_model_part(std::span<const uint8_t>(s.data(), s.size()), f, err)) << err.message;
  EXPECT_FALSE(f.parse(std::span<const uint8_t>(s.data(), s.size()), err));  // the strict reader never takes a trailer as part of the model
}

TEST(SignedFile, AnythingButAnExactTrailerIsUnsigned) {
  const std::vector<uint8_t> model = test::model_like_file(3, 2);
  const test::AlignedBytes s = with_trailer(model);
  SignedFile sf;
  Error err;
  // one byte short, one byte long, other trailer magic: not signed (the model parser then refuses the length)
  for (int variant = 0; variant < 3; ++variant) {
    test::AlignedBytes v = s;
    if (variant == 0) v.pop_back();
    if (variant == 1) v.push_back(0);
    if (variant == 2) v[model.size() + 7] ^= 0x01;
    ASSERT_TRUE(split_signed(std::span<const uint8_t>(v.data(), v.size()), sf, err)) << variant;
    EXPECT_FALSE(sf.is_signed) << variant;
    EXPECT_EQ(sf.model.size(), v.size()) << variant;
    File f;
    EXPECT_FALSE(parse_model_part(std::span<const uint8_t>(v.data(), v.size()), f, err)) << variant;
  }
  // not a .trw at all
  test::AlignedBytes junk(400, 0x5A);
  ASSERT_TRUE(split_signed(std::span<const uint8_t>(junk.data(), junk.size()), sf, err));
  EXPECT_FALSE(sf.is_signed);
}

TEST(SignedFile, MalformedTrailerFieldsAreRefusedWithTheirOffset) {
  const std::vector<uint8_t> model = test::model_like_file(4, 2);
  const uint64_t n = model.size();
  struct Case {
    uint64_t off;  // the flipped byte, in the trailer
    Errc code;
    const char* field;
    uint64_t reported;  // the offset the error names, in the trailer
  };
  const Case cases[] = {{kSigVersionOff, Errc::BadVersion, "signature.version", kSigVersionOff},
                        {kSigAlgOff + 3, Errc::BadValue, "signature.algorithm", kSigAlgOff},
                        {kSigSignedSizeOff, Errc::BadValue, "signature.signed_size", kSigSignedSizeOff},
                        {kSigSignedSizeOff + 7, Errc::BadValue, "signature.signed_size", kSigSignedSizeOff},
                        {kSigReservedOff, Errc::BadValue, "signature.reserved", kSigReservedOff},
                        {kSigReservedOff + 7, Errc::BadValue, "signature.reserved", kSigReservedOff + 7}};
  for (const Case& c : cases) {
    test::AlignedBytes s = with_trailer(model);
    s[n + c.off] ^= 0x40;
    SignedFile sf;
    Error err;
    EXPECT_FALSE(split_signed(std::span<const uint8_t>(s.data(), s.size()), sf, err)) << c.field;
    EXPECT_EQ(err.code, c.code) << c.field;
    EXPECT_EQ(err.offset, n + c.reported) << c.field;
    EXPECT_NE(err.message.find(c.field), std::string::npos) << err.message;
    EXPECT_FALSE(sf.is_signed);
  }
}

}  // namespace
}  // namespace triage::trw
