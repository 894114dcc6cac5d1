// Signed .trw files (SPEC.md section 13): the unsigned file, byte for byte, followed by a 128-byte
// signature trailer that names the algorithm (Ed25519), the signer's public key and the signature over
// everything before the signature itself. This module owns the trailer's layout only: it finds and
// checks a trailer and builds one; signing and verifying are the caller's (libsodium:
// runtime/model_signature.cpp verifies, tools/cli/cmd_sign.cpp signs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "weights_format/trw.h"

namespace triage::trw {

inline constexpr uint64_t kSigTrailerSize = 128;
inline constexpr uint8_t kSigMagic[8] = {'T', 'R', 'W', 'S', 'I', 'G', '\r', '\n'};
inline constexpr uint32_t kSigVersion = 1;
inline constexpr uint32_t kSigAlgEd25519 = 1;
inline constexpr size_t kSigPublicKeySize = 32;
inline constexpr size_t kSigSignatureSize = 64;
// Trailer byte offsets.
inline constexpr uint64_t kSigVersionOff = 8, kSigAlgOff = 12, kSigSignedSizeOff = 16, kSigKeyOff = 24,
                          kSigReservedOff = 56, kSigSignatureOff = 64;

struct SignedFile {
  bool is_signed = false;
  std::span<const uint8_t> model;    // the .trw bytes: [0, header.file_size) (all of the input when unsigned)
  std::span<const uint8_t> message;  // the bytes the signature covers: model + the trailer's first 64 bytes
  const uint8_t* public_key = nullptr;  // kSigPublicKeySize bytes inside the trailer (signed files)
  const uint8_t* signature = nullptr;   // kSigSignatureSize bytes inside the trailer (signed files)
};

// Splits bytes into the model and its trailer. A file is signed when it starts with the .trw magic, is
// exactly header.file_size + 128 bytes long and the 8 bytes at header.file_size are the trailer magic;
// its trailer must then be well formed (version 1, Ed25519, signed_size = header.file_size, reserved
// bytes zero): otherwise false + err (BadValue / BadVersion, at the trailer field's file offset).
// Anything else is unsigned: model = bytes, unchecked (File::parse judges it).
bool split_signed(std::span<const uint8_t> bytes, SignedFile& out, Error& err);

// File::parse of bytes' model part: for tools that read a model that may be signed (calibrate, adapt,
// inspect). The signature is not verified here; what they write from it is a new, unsigned file.
bool parse_model_part(std::span<const uint8_t> bytes, File& file, Error& err);

// The trailer for a model of model_size bytes signed by public_key, with a zero signature: the signer
// signs model + out[0, 64) and writes the signature at out[kSigSignatureOff].
void build_sig_trailer(uint64_t model_size, const uint8_t* public_key, uint8_t* out);

// A key's short id for humans: its first 8 bytes in hex (16 characters).
std::string key_id(const uint8_t* public_key);

}  // namespace triage::trw
