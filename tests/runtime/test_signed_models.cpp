// Signed models through the C API (issue 14): with options.public_key set, open accepts exactly the
// file `triage sign` produced with that key, and refuses an unsigned file, a file signed by another
// key, and a one-bit change anywhere in a signed file (header, metadata, tensor table, data, file CRC,
// every trailer field, the signature) with TRIAGE_E_SIGNATURE; without a key a signed file opens as its
// model and decides the same bits. Signing here is libsodium's, as in tools/cli/cmd_sign.cpp.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <string>
#include <vector>

#include "runtime/model_signature.h"
#include "runtime/triage.h"
#include "tests/runtime/random_model.h"
#include "weights_format/le_bytes.h"
#include "weights_format/signed_file.h"
#include "weights_format/trw_layout.h"

namespace triage::test {
namespace {

struct KeyPair {
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  explicit KeyPair(uint8_t seed_byte) {
    uint8_t seed[crypto_sign_SEEDBYTES];
    std::memset(seed, seed_byte, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
  }
};

std::vector<uint8_t> sign(const std::vector<uint8_t>& model, const KeyPair& k) {
  std::vector<uint8_t> out(model.size() + trw::kSigTrailerSize);
  std::memcpy(out.data(), model.data(), model.size());
  uint8_t* t = out.data() + model.size();
  trw::build_sig_trailer(model.size(), k.pk, t);
  crypto_sign_detached(t + trw::kSigSignatureOff, nullptr, out.data(), model.size() + trw::kSigSignatureOff, k.sk);
  return out;
}

triage_status open_with(const std::vector<uint8_t>& bytes, const uint8_t* key, triage_model** m) {
  triage_options o;
  triage_options_init(&o);
  o.public_key = key;
  return triage_open_memory(bytes.data(), bytes.size(), &o, m);
}

std::vector<float> probabilities(triage_model* m) {
  const TestImage img = make_random_image(7, 64, 64, 1, false);
  const triage_image in{img.storage.data(), img.pixel, img.height, img.width, img.channels, img.row_stride};
  triage_result r{};
  EXPECT_EQ(triage_classify(m, &in, &r), TRIAGE_OK) << triage_last_error(m);
  triage_model_info info{};
  info.struct_size = sizeof info;
  triage_get_info(m, &info);
  return std::vector<float>(r.probabilities, r.probabilities + info.num_classes);
}

class Signed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!rt::signature_support()) GTEST_SKIP() << "libtriage built without libsodium";
    ASSERT_GE(sodium_init(), 0);
    model_ = make_random_model(RandomModelSpec{});
    signed_ = sign(model_, key_);
  }
  KeyPair key_{0x21}, other_{0x42};
  std::vector<uint8_t> model_, signed_;
};

TEST_F(Signed, OpensWithItsKeyAndDecidesAsTheUnsignedModel) {
  triage_model *a = nullptr, *b = nullptr, *c = nullptr;
  ASSERT_EQ(open_with(signed_, key_.pk, &a), TRIAGE_OK) << triage_open_error();
  ASSERT_EQ(open_with(signed_, nullptr, &b), TRIAGE_OK) << triage_open_error();  // no key: no check
  ASSERT_EQ(open_with(model_, nullptr, &c), TRIAGE_OK) << triage_open_error();
  const std::vector<float> pa = probabilities(a), pb = probabilities(b), pc = probabilities(c);
  EXPECT_EQ(pa, pc);
  EXPECT_EQ(pb, pc);
  triage_close(a);
  triage_close(b);
  triage_close(c);
  size_t bytes = 0;
  triage_options o;
  triage_options_init(&o);
  o.public_key = key_.pk;
  EXPECT_EQ(triage_arena_size(signed_.data(), signed_.size(), &o, &bytes), TRIAGE_OK);
  EXPECT_GT(bytes, 0u);
}

TEST_F(Signed, UnsignedAndOtherKeysAreRefused) {
  triage_model* m = nullptr;
  EXPECT_EQ(open_with(model_, key_.pk, &m), TRIAGE_E_SIGNATURE);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::strstr(triage_open_error(), "not signed"), nullptr) << triage_open_error();
  EXPECT_EQ(open_with(signed_, other_.pk, &m), TRIAGE_E_SIGNATURE);
  EXPECT_NE(std::strstr(triage_open_error(), ("signed by key " + trw::key_id(key_.pk)).c_str()), nullptr) << triage_open_error();
  // Another key's signature over the same model, presented with this key's id forged into the trailer.
  std::vector<uint8_t> forged = sign(model_, other_);
  std::memcpy(forged.data() + model_.size() + trw::kSigKeyOff, key_.pk, sizeof key_.pk);
  EXPECT_EQ(open_with(forged, key_.pk, &m), TRIAGE_E_SIGNATURE);
  EXPECT_NE(std::strstr(triage_open_error(), "does not verify"), nullptr) << triage_open_error();
  // Truncated or extended: no longer a signed file.
  std::vector<uint8_t> cut(signed_.begin(), signed_.end() - 1), longer = signed_;
  longer.push_back(0);
  EXPECT_EQ(open_with(cut, key_.pk, &m), TRIAGE_E_SIGNATURE);
  EXPECT_EQ(open_with(longer, key_.pk, &m), TRIAGE_E_SIGNATURE);
  size_t bytes = 0;
  triage_options o;
  triage_options_init(&o);
  o.public_key = key_.pk;
  EXPECT_EQ(triage_arena_size(model_.data(), model_.size(), &o, &bytes), TRIAGE_E_SIGNATURE);
  EXPECT_STREQ(triage_status_name(TRIAGE_E_SIGNATURE), "SIGNATURE");
}

// One flipped bit at the first, middle and last byte of every region, and every byte of the trailer.
TEST_F(Signed, AOneBitChangeAnywhereIsRefused) {
  const uint8_t* h = model_.data();
  const uint64_t meta = trw::load_u64(h + trw::layout::kMetaOffsetOff), meta_n = trw::load_u64(h + trw::layout::kMetaSizeOff);
  const uint64_t table = trw::load_u64(h + trw::layout::kTableOffsetOff), table_n = trw::load_u64(h + trw::layout::kTableSizeOff);
  const uint64_t data = trw::load_u64(h + trw::layout::kDataOffsetOff), data_n = trw::load_u64(h + trw::layout::kDataSizeOff);
  const uint64_t n = model_.size();
  struct Region {
    const char* name;
    uint64_t begin, end;
  };
  const Region regions[] = {{"header", 0, trw::kHeaderSize},     {"metadata", meta, meta + meta_n},
                            {"tensor table", table, table + table_n}, {"data", data, data + data_n},
                            {"file crc", n - 4, n},                {"trailer", n, n + trw::kSigTrailerSize}};
  int tried = 0;
  for (const Region& r : regions) {
    ASSERT_LT(r.begin, r.end) << r.name;
    std::vector<uint64_t> at = {r.begin, (r.begin + r.end) / 2, r.end - 1};
    if (std::string(r.name) == "trailer")
      for (uint64_t p = r.begin; p < r.end; ++p) at.push_back(p);
    for (uint64_t p : at) {
      for (uint8_t bit : {uint8_t(0x01), uint8_t(0x80)}) {
        std::vector<uint8_t> v = signed_;
        v[p] ^= bit;
        triage_model* m = nullptr;
        EXPECT_EQ(open_with(v, key_.pk, &m), TRIAGE_E_SIGNATURE) << r.name << " byte " << p << " bit " << int(bit);
        EXPECT_EQ(m, nullptr);
        triage_close(m);
        ++tried;
      }
    }
  }
  EXPECT_GT(tried, 2 * (5 * 3 + 128));
}

// Without a key the trailer's layout is still checked (a malformed trailer is a format error), but
// its signature is not: that is the key's job.
TEST_F(Signed, WithoutAKeyAMalformedTrailerIsAFormatError) {
  std::vector<uint8_t> v = signed_;
  v[model_.size() + trw::kSigVersionOff] ^= 0x02;
  triage_model* m = nullptr;
  EXPECT_EQ(open_with(v, nullptr, &m), TRIAGE_E_FORMAT);
  EXPECT_NE(std::strstr(triage_open_error(), "signature.version"), nullptr) << triage_open_error();
}

// ABI: a caller built against the header before signed models passes the V2 size; bytes where
// public_key now sits are never read as a key.
TEST_F(Signed, OptionsOfTheV2LayoutNeverReadAKey) {
  struct V2 {
    uint32_t struct_size, threads, isa_cap, max_batch, force, flags;
    void* arena;
    size_t arena_size;
    unsigned char after[16];
  } old;
  static_assert(offsetof(V2, after) == TRIAGE_OPTIONS_SIZE_V2);
  std::memset(&old, 0xA5, sizeof old);
  old.struct_size = TRIAGE_OPTIONS_SIZE_V2;
  old.threads = 1;
  old.isa_cap = TRIAGE_ISA_AUTO;
  old.max_batch = 1;
  old.force = TRIAGE_FORCE_NONE;
  old.flags = 0;
  old.arena = nullptr;
  old.arena_size = 0;
  triage_model* m = nullptr;
  ASSERT_EQ(triage_open_memory(model_.data(), model_.size(), reinterpret_cast<const triage_options*>(&old), &m), TRIAGE_OK)
      << triage_open_error();
  triage_close(m);
}

}  // namespace
}  // namespace triage::test
