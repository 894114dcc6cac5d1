// `triage`: the command-line front end. Adding a subcommand = one line in kCommands + a cmd_<name>.cpp
// (declared in commands.h).
#include <cstdio>
#include <cstring>

#include "runtime/version.h"
#include "tools/cli/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"convert", triage::cli::cmd_convert, "convert a safetensors checkpoint + config.json into a .trw file"},
    {"inspect", triage::cli::cmd_inspect, "validate a .trw file and print its header, metadata and tensors"},
    {"run", triage::cli::cmd_run, "classify images (files or folders) with a .trw model"},
    {"calibrate", triage::cli::cmd_calibrate, "choose router thresholds with an escape-rate bound, write a new .trw"},
    {"adapt", triage::cli::cmd_adapt, "fit a new head from a few labelled images (no Python), write a new .trw"},
    {"eval", triage::cli::cmd_eval, "accuracy, escapes, routing, latency and cost on labelled images"},
    {"bench", triage::cli::cmd_bench, "time the C API in process on images (latency percentiles, images/s, decisions)"},
    {"klarf", triage::cli::cmd_klarf, "classify a KLARF file's defect images, write a new KLARF with the classes"},
    {"keygen", triage::cli::cmd_keygen, "make an Ed25519 key pair for signing models"},
    {"sign", triage::cli::cmd_sign, "append an Ed25519 signature to a .trw (tools then accept only the signer's files)"},
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: triage <command> [args]   (triage <command> --help for its options)\n"
               "       triage --help | --version\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char* cmd = argv[1];
  if (!std::strcmp(cmd, "--help") || !std::strcmp(cmd, "-h") || !std::strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!std::strcmp(cmd, "--version")) {
    std::printf("triage %s\n", triage::version_string());
    return 0;
  }
  for (const auto& c : kCommands)
    if (!std::strcmp(cmd, c.name)) return c.run(argc - 1, argv + 1);
  std::fprintf(stderr, "triage: unknown command '%s' (see triage --help)\n", cmd);
  return 2;
}
