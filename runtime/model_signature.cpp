// Ed25519 verification of a signed model (libsodium's crypto_sign_verify_detached: no home-made crypto).
#include "runtime/model_signature.h"

#include <cstring>

#include "weights_format/signed_file.h"
#ifdef TRIAGE_HAVE_SODIUM
#include <sodium.h>
#endif

namespace triage::rt {

bool signature_support() {
#ifdef TRIAGE_HAVE_SODIUM
  return true;
#else
  return false;
#endif
}

bool open_signed(std::span<const uint8_t> bytes, const uint8_t* required_key, std::span<const uint8_t>& model, Error& err) {
  trw::SignedFile sf;
  trw::Error te;
  const bool ok = trw::split_signed(bytes, sf, te);
  if (!required_key) {
    if (!ok) return err.set(TRIAGE_E_FORMAT, "model file: %s", te.message.c_str());
    model = sf.model;
    return true;
  }
#ifndef TRIAGE_HAVE_SODIUM
  return err.set(TRIAGE_E_UNSUPPORTED, "options.public_key is set but this libtriage was built without signature "
                                       "verification (libsodium not found at configure)");
#else
  const std::string want = trw::key_id(required_key);
  if (!ok) return err.set(TRIAGE_E_SIGNATURE, "model signature: %s (a signed model by key %s is required)", te.message.c_str(), want.c_str());
  if (!sf.is_signed) return err.set(TRIAGE_E_SIGNATURE, "model is not signed (a signature by key %s is required)", want.c_str());
  if (std::memcmp(sf.public_key, required_key, trw::kSigPublicKeySize) != 0)
    return err.set(TRIAGE_E_SIGNATURE, "model is signed by key %s, not by the required key %s", trw::key_id(sf.public_key).c_str(),
                   want.c_str());
  if (sodium_init() < 0) return err.set(TRIAGE_E_INTERNAL, "libsodium failed to initialise");
  if (crypto_sign_verify_detached(sf.signature, sf.message.data(), sf.message.size(), required_key) != 0)
    return err.set(TRIAGE_E_SIGNATURE, "model signature by key %s does not verify: the file was changed after signing",
                   want.c_str());
  model = sf.model;
  return true;
#endif
}

}  // namespace triage::rt
