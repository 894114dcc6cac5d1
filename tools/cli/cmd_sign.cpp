// triage sign: appends an Ed25519 signature trailer (SPEC.md section 13) to a valid, unsigned .trw, so
// a tool that opens it with options.public_key runs exactly the bytes that were released. Signing is
// libsodium's crypto_sign_detached over the model and the trailer's first 64 bytes.
#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/key_file.h"
#include "tools/cli/text.h"
#include "weights_format/signed_file.h"
#include "weights_format/trw.h"

namespace triage::cli {
namespace {

constexpr const char* kUsage =
    "usage: triage sign MODEL.trw --key SECRET.key -o SIGNED.trw\n"
    "  Validates MODEL.trw (every check of `triage inspect`, checksums included), signs all of its bytes\n"
    "  with the Ed25519 secret key of `triage keygen`, and writes MODEL + a 128-byte signature trailer to\n"
    "  SIGNED.trw (atomically; never over the input). A file that is already signed is refused: sign the\n"
    "  unsigned model. Tools open the signed file as before; with --public-key (C API: options.public_key)\n"
    "  they accept only a file signed by that key.\n";

}  // namespace

int cmd_sign(int argc, char** argv) {
  Args a;
  std::string error;
  if (!parse_args(argc, argv, {{"--key", nullptr, true}, {"--output", "-o", true}, {"--help", "-h", false}}, a, error)) {
    std::fprintf(stderr, "triage sign: %s (see triage sign --help)\n", error.c_str());
    return 2;
  }
  if (a.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (a.positional.size() != 1 || !a.has("--key") || !a.has("--output")) {
    std::fprintf(stderr, "triage sign: need MODEL.trw, --key SECRET.key and -o SIGNED.trw (see triage sign --help)\n");
    return 2;
  }
  const std::string in = a.positional[0], out = a.get("--output");
  if (trw::same_file(in, out)) {
    std::fprintf(stderr, "triage sign: the output '%s' is the input: never overwritten\n", printable(out).c_str());
    return 1;
  }
  trw::Buffer buf;
  trw::Error terr;
  trw::SignedFile sf;
  trw::File file;
  if (!buf.read_file(in, terr) || !trw::split_signed(buf.span(), sf, terr)) {
    std::fprintf(stderr, "triage sign: %s: %s\n", printable(in).c_str(), printable(terr.message).c_str());
    return 1;
  }
  if (sf.is_signed) {
    std::fprintf(stderr, "triage sign: %s is already signed (key id %s): sign the unsigned model\n", printable(in).c_str(),
                 trw::key_id(sf.public_key).c_str());
    return 1;
  }
  if (!file.parse(buf.span(), terr)) {
    std::fprintf(stderr, "triage sign: %s: invalid: %s\n", printable(in).c_str(), printable(terr.message).c_str());
    return 1;
  }
  uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  if (!read_secret_seed(a.get("--key"), seed, error)) {
    std::fprintf(stderr, "triage sign: %s\n", error.c_str());
    return 1;
  }
  if (sodium_init() < 0) {
    std::fprintf(stderr, "triage sign: libsodium failed to initialise\n");
    return 1;
  }
  crypto_sign_seed_keypair(pk, sk, seed);
  sodium_memzero(seed, sizeof seed);
  const std::span<const uint8_t> model = buf.span();
  std::vector<uint8_t> bytes(model.size() + trw::kSigTrailerSize);
  std::memcpy(bytes.data(), model.data(), model.size());
  uint8_t* trailer = bytes.data() + model.size();
  trw::build_sig_trailer(model.size(), pk, trailer);
  crypto_sign_detached(trailer + trw::kSigSignatureOff, nullptr, bytes.data(), model.size() + trw::kSigSignatureOff, sk);
  sodium_memzero(sk, sizeof sk);
  if (!trw::write_file_atomic(out, bytes, terr)) {
    std::fprintf(stderr, "triage sign: %s\n", printable(terr.message).c_str());
    return 1;
  }
  std::printf("signed %s -> %s (%zu bytes, key id %s)\n", printable(in).c_str(), printable(out).c_str(), bytes.size(),
              trw::key_id(pk).c_str());
  return 0;
}

}  // namespace triage::cli
