// triage convert: checkpoint (+ config.json) -> .trw, with a report on stdout.
#include <cstdio>
#include <string>

#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/text.h"
#include "tools/convert/convert.h"
#include "tools/convert/file_io.h"
#include "tools/convert/router_keys.h"
#include "weights_format/trw.h"

namespace triage::cli {
namespace {

constexpr const char* kUsage =
    "usage: triage convert CHECKPOINT -o OUT.trw [--config CONFIG.json] [--dtype f32|f16|bf16|q8] [--json]\n"
    "                      [--quiet] [--router ROUTER.json]\n"
    "  CHECKPOINT      model.safetensors, model.safetensors.index.json (sharded), or a directory holding one\n"
    "  -o, --output    the .trw file to write (atomically; never one of the inputs)\n"
    "  --config        config.json (docs/model-family.md); default: config.json beside the checkpoint.\n"
    "                  Required for every checkpoint, plain timm ViTs included (arch name \"vit\").\n"
    "  --dtype         storage of linear/conv weights (default q8: int8, one f32 scale per output\n"
    "                  channel); biases, LayerNorm, tokens and position embeddings stay f32\n"
    "  --json          print the report as one JSON object instead of a table\n"
    "  --quiet         print no report\n"
    "  --router        router thresholds from `triage calibrate --router-json`; applied only when they were\n"
    "                  calibrated on this checkpoint, config and dtype (else a warning, model left uncalibrated)\n";

}  // namespace

int cmd_convert(int argc, char** argv) {
  Args a;
  std::string error;
  if (!parse_args(argc, argv,
                  {{"--output", "-o", true}, {"--config", nullptr, true}, {"--dtype", nullptr, true},
                   {"--json", nullptr, false}, {"--quiet", nullptr, false}, {"--router", nullptr, true},
                   {"--help", "-h", false}},
                  a, error)) {
    std::fprintf(stderr, "triage convert: %s (see triage convert --help)\n", error.c_str());
    return 2;
  }
  if (a.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (a.positional.size() != 1 || !a.has("--output")) {
    std::fprintf(stderr, "triage convert: need one CHECKPOINT and -o OUT.trw (see triage convert --help)\n");
    return 2;
  }
  convert::ConvertOptions opt;
  opt.checkpoint = a.positional[0];
  opt.config = a.get("--config");
  opt.output = a.get("--output");
  if (!convert::parse_storage_dtype(a.get("--dtype", "q8"), opt.dtype)) {
    std::fprintf(stderr, "triage convert: --dtype must be f32, f16, bf16 or q8, not '%s'\n",
                 a.get("--dtype").c_str());
    return 2;
  }
  convert::ConvertReport report;
  convert::Error err;
  convert::RouterKeys router;  // read before converting: a bad file fails before anything is written
  std::vector<uint8_t> router_text;
  if (a.has("--router") && (!convert::read_file_bytes(a.get("--router"), convert::kMaxRouterJsonBytes, router_text, err) ||
                            !convert::parse_router_json({reinterpret_cast<const char*>(router_text.data()), router_text.size()},
                                                        a.get("--router"), router, err))) {
    std::fprintf(stderr, "triage convert: %s\n", printable(err.message).c_str());
    return 1;
  }
  if (a.has("--router") && trw::same_file(opt.output, a.get("--router"))) {
    std::fprintf(stderr, "triage convert: refusing to overwrite the router file %s with the output\n",
                 printable(a.get("--router")).c_str());
    return 1;
  }
  std::string warning;
  if (!convert::convert_checkpoint(opt, report, err) ||
      (a.has("--router") && !convert::apply_router_to_output(opt.output, router, warning, err))) {
    std::fprintf(stderr, "triage convert: %s\n", printable(err.message).c_str());
    return 1;
  }
  if (!warning.empty()) std::fprintf(stderr, "triage convert: warning: %s\n", printable(warning).c_str());
  if (!a.has("--quiet")) {
    const std::string out = a.has("--json") ? convert::report_json(report) : convert::report_text(report);
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace triage::cli
