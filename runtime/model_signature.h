// Signed models at open (issue 14): with a required public key, the file must carry an Ed25519
// signature trailer (weights_format/signed_file.h) by exactly that key over exactly these bytes, checked
// before anything else of the file is parsed; without one, a signed file opens like its unsigned model.
#pragma once

#include <cstdint>
#include <span>

#include "runtime/error.h"

namespace triage::rt {

// true: signature verification is compiled in (libsodium); false: a required key is TRIAGE_E_UNSUPPORTED.
bool signature_support();

// The model bytes of `bytes` (the whole span when unsigned). required_key: 32-byte Ed25519 public key or
// NULL. Refusals with a key: TRIAGE_E_SIGNATURE (unsigned, malformed trailer, another key, a signature that
// does not verify); without a key a malformed trailer is TRIAGE_E_FORMAT.
bool open_signed(std::span<const uint8_t> bytes, const uint8_t* required_key, std::span<const uint8_t>& model, Error& err);

}  // namespace triage::rt
