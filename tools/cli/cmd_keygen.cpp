// triage keygen: a new Ed25519 key pair for signing models (libsodium's crypto_sign_keypair, from the
// OS's random source). Writes PREFIX.key (the secret seed, created 0600, never overwriting a file) and
// PREFIX.pub (the public key tools and firmware are given).
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>

#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/key_file.h"
#include "tools/cli/text.h"
#include "weights_format/signed_file.h"

namespace triage::cli {
namespace {

constexpr const char* kUsage =
    "usage: triage keygen --out PREFIX\n"
    "  Makes an Ed25519 key pair: PREFIX.key (secret, mode 0600: keep it off the tools) and PREFIX.pub\n"
    "  (the public key given to `triage run --public-key` and to firmware as options.public_key).\n"
    "  Refuses to overwrite either file. Prints the key id (the public key's first 8 bytes, in hex).\n";

// Creates path exclusively with mode, writes text, fsyncs. false + error (existing file included).
bool write_new(const std::string& path, const std::string& text, mode_t mode, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    error = "cannot create '" + printable(path) + "': " + std::strerror(errno) + (errno == EEXIST ? " (never overwritten)" : "");
    return false;
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !ok) {
    error = "cannot write '" + printable(path) + "'";
    ::unlink(path.c_str());
    return false;
  }
  return true;
}

}  // namespace

int cmd_keygen(int argc, char** argv) {
  Args a;
  std::string error;
  if (!parse_args(argc, argv, {{"--out", "-o", true}, {"--help", "-h", false}}, a, error)) {
    std::fprintf(stderr, "triage keygen: %s (see triage keygen --help)\n", error.c_str());
    return 2;
  }
  if (a.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!a.has("--out") || a.get("--out").empty() || !a.positional.empty()) {
    std::fprintf(stderr, "triage keygen: need --out PREFIX and nothing else (see triage keygen --help)\n");
    return 2;
  }
  if (sodium_init() < 0) {
    std::fprintf(stderr, "triage keygen: libsodium failed to initialise\n");
    return 1;
  }
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  crypto_sign_seed_keypair(pk, sk, seed);
  const std::string prefix = a.get("--out");
  std::string secret = key_line(kSecretTag, seed);
  const bool ok = write_new(prefix + ".key", secret, 0600, error) &&
                  (write_new(prefix + ".pub", key_line(kPublicTag, pk), 0644, error) || (::unlink((prefix + ".key").c_str()), false));
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(secret.data(), secret.size());
  if (!ok) {
    std::fprintf(stderr, "triage keygen: %s\n", error.c_str());
    return 1;
  }
  std::printf("key id %s: secret %s.key (0600), public %s.pub\n", trw::key_id(pk).c_str(), printable(prefix).c_str(),
              printable(prefix).c_str());
  return 0;
}

}  // namespace triage::cli
