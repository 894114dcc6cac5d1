// triage run: classify image files (or every image in folders) with a .trw model and print one line
// per image plus a latency / routing summary. Exit 0 when every image was classified.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/triage.h"
#include "tools/cli/args.h"
#include "tools/cli/audit_log.h"
#include "tools/cli/commands.h"
#include "tools/cli/dataset.h"
#include "tools/cli/image_io.h"
#include "tools/cli/key_file.h"
#include "tools/cli/text.h"

namespace triage::cli {
namespace {

using json = nlohmann::ordered_json;  // keys in the documented order (path first)
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: triage run MODEL.trw INPUT... [--json] [--threads N] [--isa NAME] [--force coarse|fine|fine-all]\n"
    "                  [--labels FILE.csv] [--pages N,N,...] [--audit FILE.jsonl] [--allow-uncalibrated]\n"
    "                  [--public-key KEY.pub]\n"
    "  Classifies each INPUT image (PNG, JPEG, TIFF, PGM P5, NPY u8/u16, and wafer maps: SINF, SEMI\n"
    "  E142 XML; a folder means every such file in it, sorted) and prints: path, class, confidence,\n"
    "  route, review flag, milliseconds; then a summary (images, mean / p50 / p99 ms, escalation rate,\n"
    "  ISA, threads). Wafer maps become the 0/1/2 die grid, flat / notch at the bottom\n"
    "  (docs/wafer-map-formats.md).\n"
    "  An image with other channels than the model's is converted: colour -> gray by Rec. 601 luma,\n"
    "  gray -> 3 channels by replication, alpha dropped; refused where no rule fits.\n"
    "  --json          one JSON object per line (path, class, confidence, route, review, ms,\n"
    "                  probabilities, tokens), then a {\"summary\": ...} line\n"
    "  --threads N     worker threads of the engine (default 1: the calling thread only)\n"
    "  --isa NAME      cap the instruction set: scalar, avx2, avx512, avx512_vnni, amx, neon (default: best)\n"
    "  --force ROUTE   coarse (exit every image after the coarse pass), fine (escalate every image,\n"
    "                  K = arch.topk) or fine-all (escalate, every patch re-split)\n"
    "  --labels FILE   ground truth (CSV with path,label columns, paths relative to it); a labels.csv\n"
    "                  inside an input folder is read too. Labelled inputs get `truth LABEL right|WRONG`\n"
    "                  and the summary a line with the accuracy and the escapes (a defect called good)\n"
    "  --pages N,N,... TIFF pages (0-based) stacked as channels, one page per channel (default: page 0);\n"
    "                  every input must then be a TIFF\n"
    "  --audit FILE    append one JSON line per decision to FILE (time, input and its SHA-256, model\n"
    "                  SHA-256 and name, thresholds, class, confidence, route, review; docs/audit-log.md)\n"
    "  --allow-uncalibrated  decide with the thresholds of a file whose router is not calibrated; without\n"
    "                  it such a file never decides its good class (fail-safe: the most probable defect\n"
    "                  class, flagged for review); `triage inspect` says which applies\n"
    "  --public-key F  accept only a model signed by this Ed25519 key (`triage keygen`, `triage sign`):\n"
    "                  an unsigned, changed or otherwise signed file is refused (status SIGNATURE)\n";

bool parse_uint(const std::string& s, uint32_t lo, uint32_t hi, uint32_t& out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  const unsigned long v = std::stoul(s);
  if (v < lo || v > hi) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// Files named on the command line, plus the image files of named folders (sorted per folder).
bool collect_inputs(const std::vector<std::string>& args, std::vector<std::string>& out, std::string& err) {
  for (const std::string& a : args) {
    std::error_code ec;
    if (std::filesystem::is_directory(a, ec)) {
      std::vector<std::string> files;
      for (const auto& e : std::filesystem::directory_iterator(a, ec))
        if (e.is_regular_file() && is_image_name(e.path().filename().string())) files.push_back(e.path().string());
      if (ec) {
        err = "cannot list " + printable(a) + ": " + ec.message();
        return false;
      }
      std::sort(files.begin(), files.end());
      out.insert(out.end(), files.begin(), files.end());
    } else {
      out.push_back(a);
    }
  }
  return true;
}

// Ground truth for the inputs, where there is any: `--labels FILE` (a labels CSV, dataset.h rules), or
// a labels.csv inside an input folder. Keyed by canonical path; unlabelled inputs are simply absent.
bool collect_labels(const std::vector<std::string>& args, const std::string& labels_file,
                    std::map<std::string, std::string>& out, std::string& err) {
  std::vector<std::string> csvs;
  if (!labels_file.empty()) csvs.push_back(labels_file);
  for (const std::string& a : args) {
    std::error_code ec;
    const auto csv = std::filesystem::path(a) / "labels.csv";
    if (std::filesystem::is_directory(a, ec) && std::filesystem::is_regular_file(csv, ec)) csvs.push_back(csv.string());
  }
  for (const std::string& csv : csvs) {
    std::vector<LabelledFile> rows;
    if (!load_dataset(csv, rows, err)) return false;
    for (const LabelledFile& r : rows) {
      std::error_code ec;
      out[std::filesystem::weakly_canonical(r.path, ec).string()] = r.label;
    }
  }
  return true;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

int cmd_run(int argc, char** argv) {
  Args args;
  std::string error;
  const std::vector<OptSpec> specs = {{"--json", nullptr, false},   {"--threads", nullptr, true},
                                      {"--isa", nullptr, true},     {"--force", nullptr, true},
                                      {"--labels", nullptr, true},   {"--pages", nullptr, true},
                                      {"--audit", nullptr, true},    {"--allow-uncalibrated", nullptr, false},
                                      {"--public-key", nullptr, true},  {"--help", "-h", false}};
  if (!parse_args(argc, argv, specs, args, error)) {
    std::fprintf(stderr, "triage run: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (args.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args.positional.size() < 2) {
    std::fprintf(stderr, "triage run: a model and at least one input are required\n%s", kUsage);
    return 2;
  }
  triage_options opts;
  triage_options_init(&opts);
  if (args.has("--threads") && !parse_uint(args.get("--threads"), 1, TRIAGE_MAX_THREADS, opts.threads)) {
    std::fprintf(stderr, "triage run: --threads must be 1..%u\n", TRIAGE_MAX_THREADS);
    return 2;
  }
  if (args.has("--isa")) {
    const int isa = triage_isa_from_name(args.get("--isa").c_str());
    if (isa < 0) {
      std::fprintf(stderr, "triage run: unknown --isa '%s' (scalar, avx2, avx512, avx512_vnni, amx, neon)\n",
                   printable(args.get("--isa")).c_str());
      return 2;
    }
    opts.isa_cap = static_cast<uint32_t>(isa);
  }
  if (args.has("--force")) {
    const std::string f = args.get("--force");
    if (f == "coarse") opts.force = TRIAGE_FORCE_COARSE;
    else if (f == "fine") opts.force = TRIAGE_FORCE_FINE;
    else if (f == "fine-all") opts.force = TRIAGE_FORCE_FINE_ALL;
    else {
      std::fprintf(stderr, "triage run: --force must be coarse, fine or fine-all\n");
      return 2;
    }
  }
  if (args.has("--allow-uncalibrated")) opts.flags |= TRIAGE_OPEN_ALLOW_UNCALIBRATED;
  uint8_t public_key[32];
  if (args.has("--public-key")) {
    if (!read_public_key(args.get("--public-key"), public_key, error)) {
      std::fprintf(stderr, "triage run: --public-key: %s\n", error.c_str());
      return 2;
    }
    opts.public_key = public_key;
  }
  std::vector<uint32_t> pages;
  if (args.has("--pages") && !parse_pages(args.get("--pages"), pages, error)) {
    std::fprintf(stderr, "triage run: --pages: %s\n", error.c_str());
    return 2;
  }
  const bool as_json = args.has("--json");
  const std::string model_path = args.positional[0];
  std::vector<std::string> inputs;
  if (!collect_inputs({args.positional.begin() + 1, args.positional.end()}, inputs, error)) {
    std::fprintf(stderr, "triage run: %s\n", error.c_str());
    return 1;
  }

  std::map<std::string, std::string> truth;
  if (!collect_labels({args.positional.begin() + 1, args.positional.end()}, args.get("--labels", ""), truth, error)) {
    std::fprintf(stderr, "triage run: labels: %s\n", error.c_str());
    return 1;
  }

  triage_model* model = nullptr;
  const triage_status st = triage_open_file(model_path.c_str(), &opts, &model);
  if (st != TRIAGE_OK) {
    std::fprintf(stderr, "triage run: model: %s (%s)\n", printable(triage_open_error()).c_str(), triage_status_name(st));
    return 1;
  }
  triage_model_info info;
  info.struct_size = sizeof(info);
  triage_get_info(model, &info);
  if (info.fail_safe)
    std::fprintf(stderr, "triage run: warning: the model's router is not calibrated: fail-safe, '%s' is never decided "
                 "(--allow-uncalibrated decides with the file's thresholds)\n",
                 printable(info.class_names[info.good_class]).c_str());
  AuditLog audit;
  if (args.has("--audit") && !audit.open(args.get("--audit"), model_path, model, error)) {
    std::fprintf(stderr, "triage run: %s\n", error.c_str());
    triage_close(model);
    return 1;
  }

  std::vector<double> ms;
  size_t failed = 0, escalated = 0, reviews = 0, unknowns = 0, labelled = 0, correct = 0, escapes = 0;
  const char* good = info.good_class >= 0 ? info.class_names[info.good_class] : nullptr;
  for (const std::string& path : inputs) {
    Image img;
    if (!read_image(path, img, error, pages) || !convert_channels(img, info.in_channels, error)) {
      std::fprintf(stderr, "triage run: %s: %s\n", printable(path).c_str(), printable(error).c_str());
      ++failed;
      continue;
    }
    const triage_image view = img.view();
    triage_result r;
    const auto t0 = Clock::now();
    const triage_status cs = triage_classify(model, &view, &r);
    const double t = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (cs != TRIAGE_OK) {
      std::fprintf(stderr, "triage run: %s: %s (%s)\n", printable(path).c_str(), printable(triage_last_error(model)).c_str(),
                   triage_status_name(cs));
      ++failed;
      continue;
    }
    ms.push_back(t);
    escalated += r.route == TRIAGE_ROUTE_FINE;
    reviews += r.review;
    unknowns += r.unknown;
    const char* route = r.route == TRIAGE_ROUTE_FINE ? "fine" : "coarse";
    if (audit.is_open() && !audit.write({path, r.class_name, r.confidence, route, r.review != 0, "",
                                                    info.ood_enabled ? static_cast<int>(r.unknown) : -1},
                                                   error)) {
      std::fprintf(stderr, "triage run: %s\n", error.c_str());  // a decision the log misses: stop
      triage_close(model);
      return 1;
    }
    std::error_code ec;
    const auto it = truth.find(std::filesystem::weakly_canonical(path, ec).string());
    const std::string* label = it == truth.end() ? nullptr : &it->second;
    const bool right = label && *label == r.class_name;
    if (label) {
      ++labelled;
      correct += right;
      escapes += good && *label != good && std::strcmp(r.class_name, good) == 0;
    }
    if (as_json) {
      json probs = json::object();
      for (uint32_t c = 0; c < info.num_classes; ++c) probs[info.class_names[c]] = r.probabilities[c];
      json line = {{"path", path},       {"class", r.class_name},   {"confidence", r.confidence},
                   {"route", route},     {"review", r.review != 0}, {"ms", t},
                   {"probabilities", probs}, {"tokens", r.tokens}};
      if (info.ood_enabled) {  // the OOD flag and score exist only for a file with OOD thresholds
        float s[TRIAGE_OOD_SCORES];
        line["unknown"] = r.unknown != 0;
        if (triage_get_ood_scores(model, 0, s, TRIAGE_OOD_SCORES) == TRIAGE_OK)
          line["ood"] = {{"energy", s[0]}, {"input_mean", s[1]}, {"input_std", s[2]}};
      }
      if (label) {
        line["label"] = *label;
        line["correct"] = right;
      }
      std::printf("%s\n", dump(line).c_str());
    } else {
      std::printf("%s  %s  %.4f  %s  %s%s  %.3f ms%s%s%s\n", printable(path).c_str(), printable(r.class_name).c_str(),
                  r.confidence, route, r.review ? "review" : "-", r.unknown ? "  UNKNOWN" : "", t, label ? "  truth " : "",
                  label ? printable(*label).c_str() : "", label ? (right ? "  right" : "  WRONG") : "");
    }
  }
  const size_t n = ms.size();
  double mean = 0;
  for (double v : ms) mean += v;
  mean = n ? mean / static_cast<double>(n) : 0;
  const double esc = n ? 100.0 * static_cast<double>(escalated) / static_cast<double>(n) : 0;
  if (as_json) {
    json s = {{"images", n},         {"failed", failed},    {"mean_ms", mean},       {"p50_ms", percentile(ms, 50)},
              {"p99_ms", percentile(ms, 99)}, {"escalation_rate", esc / 100}, {"review", reviews},
              {"isa", info.isa},     {"threads", info.threads}, {"model", info.model_name}, {"dtype", info.weight_dtype},
              {"fail_safe", info.fail_safe != 0}};
    if (info.ood_enabled) s["unknown"] = unknowns;
    if (labelled) {
      s["labelled"] = labelled;
      s["correct"] = correct;
      if (good) s["escapes"] = escapes;
    }
    std::printf("%s\n", dump(json{{"summary", s}}).c_str());
  } else {
    std::printf("summary: %zu images (%zu failed), mean %.3f ms, p50 %.3f ms, p99 %.3f ms, escalated %.1f%%, review %zu, ",
                n, failed, mean, percentile(ms, 50), percentile(ms, 99), esc, reviews);
    if (info.ood_enabled) std::printf("unknown %zu, ", unknowns);
    std::printf("isa %s, threads %u\n", info.isa, info.threads);
    if (labelled) {
      std::printf("labelled: %zu of %zu images, %zu right (%.1f%%)", labelled, n, correct,
                  100.0 * static_cast<double>(correct) / static_cast<double>(labelled));
      if (good) std::printf(", escapes %zu (a defect called %s)", escapes, good);
      std::printf("\n");
    }
  }
  triage_close(model);
  return failed ? 1 : 0;
}

}  // namespace triage::cli
