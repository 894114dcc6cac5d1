// Finding, checking and building the signature trailer of a signed .trw (SPEC.md section 13).
#include "weights_format/signed_file.h"

#include <cstdio>
#include <cstring>

#include "weights_format/error.h"
#include "weights_format/le_bytes.h"
#include "weights_format/trw_layout.h"

namespace triage::trw {

bool split_signed(std::span<const uint8_t> bytes, SignedFile& out, Error& err) {
  out = SignedFile{};
  out.model = bytes;
  const uint8_t* b = bytes.data();
  const uint64_t n = bytes.size();
  if (n < kHeaderSize + kSigTrailerSize || std::memcmp(b, kMagic, sizeof kMagic) != 0) return true;
  const uint64_t file_size = load_u64(b + layout::kFileSizeOff);
  if (file_size > n || n - file_size != kSigTrailerSize) return true;
  const uint8_t* t = b + file_size;
  if (std::memcmp(t, kSigMagic, sizeof kSigMagic) != 0) return true;
  // A trailer: every field must be what this version writes.
  if (load_u32(t + kSigVersionOff) != kSigVersion)
    return fail(err, Errc::BadVersion, file_size + kSigVersionOff, "signature.version: %u (this reader knows 1)",
                load_u32(t + kSigVersionOff));
  if (load_u32(t + kSigAlgOff) != kSigAlgEd25519)
    return fail(err, Errc::BadValue, file_size + kSigAlgOff, "signature.algorithm: %u (1 = Ed25519 is the only one)",
                load_u32(t + kSigAlgOff));
  if (load_u64(t + kSigSignedSizeOff) != file_size)
    return fail(err, Errc::BadValue, file_size + kSigSignedSizeOff, "signature.signed_size: %llu, header.file_size is %llu",
                static_cast<unsigned long long>(load_u64(t + kSigSignedSizeOff)),
                static_cast<unsigned long long>(file_size));
  for (uint64_t i = kSigReservedOff; i < kSigSignatureOff; ++i)
    if (t[i] != 0) return fail(err, Errc::BadValue, file_size + i, "signature.reserved: byte must be 0");
  out.is_signed = true;
  out.model = bytes.first(file_size);
  out.message = bytes.first(file_size + kSigSignatureOff);
  out.public_key = t + kSigKeyOff;
  out.signature = t + kSigSignatureOff;
  return true;
}

bool parse_model_part(std::span<const uint8_t> bytes, File& file, Error& err) {
  SignedFile sf;
  return split_signed(bytes, sf, err) && file.parse(sf.model, err);
}

void build_sig_trailer(uint64_t model_size, const uint8_t* public_key, uint8_t* out) {
  std::memset(out, 0, kSigTrailerSize);
  std::memcpy(out, kSigMagic, sizeof kSigMagic);
  store_u32(out + kSigVersionOff, kSigVersion);
  store_u32(out + kSigAlgOff, kSigAlgEd25519);
  store_u64(out + kSigSignedSizeOff, model_size);
  std::memcpy(out + kSigKeyOff, public_key, kSigPublicKeySize);
}

std::string key_id(const uint8_t* public_key) {
  char buf[17];
  for (int i = 0; i < 8; ++i) std::snprintf(buf + 2 * i, 3, "%02x", public_key[i]);
  return std::string(buf, 16);
}

}  // namespace triage::trw
