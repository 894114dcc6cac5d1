// triage bench: in-process timing of the C API (triage_classify, or triage_classify_batch for --batch > 1)
// over a set of images, cycling through them. Images are decoded once before timing; what is timed is
// the API call only (fused resize + normalise, coarse pass, router, fine pass). Prints the latency of
// every timed iteration, a summary (median, p90, p99, max, mean, images/s) and each input's decided class,
// so a harness (bench/peers/run_peers.py) gets triage's numbers without process-start noise.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/triage.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/image_io.h"
#include "tools/cli/text.h"

namespace triage::cli {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: triage bench MODEL.trw [INPUT...] [--inputs DIR|FILE|@LIST] [--pass coarse|fine|fine-all|routed]\n"
    "                    [--threads N] [--batch B] [--iters N] [--warmup N] [--isa NAME] [--json]\n"
    "                    [--allow-uncalibrated]\n"
    "  Times triage_classify (batch 1) or triage_classify_batch (batch B) in process, cycling through the\n"
    "  inputs (PNG / JPEG / TIFF / PGM / NPY images, decoded once before timing and converted to the\n"
    "  model's channels; a folder means its image files, sorted; @LIST a text file with one image path\n"
    "  per line, repeats allowed, '#' comments). One iteration is one API call on B consecutive images\n"
    "  of the cycle. The timed region is the call only: it includes the engine's fused resize +\n"
    "  normalise, the passes and the router, not file decoding.\n"
    "  --pass P      coarse (exit after the coarse pass), fine (escalate all, K = arch.topk), fine-all\n"
    "                (escalate all, every patch re-split) or routed (the router decides; default)\n"
    "  --threads N   engine threads (default 1)     --batch B   images per call (default 1)\n"
    "  --iters N     timed iterations (default 200) --warmup N  untimed iterations first (default 20)\n"
    "  --isa NAME    cap the instruction set (scalar, avx2, avx512, avx512_vnni, amx, neon)\n"
    "  --json        one JSON object: settings, latency_ms of every iteration, summary, per-input decisions\n"
    "  --allow-uncalibrated  route with the thresholds of an uncalibrated model (default: fail-safe,\n"
    "                no good exit: `triage inspect`)\n"
    "  Text output: the summary and one line per distinct input (class, route, confidence).\n";

bool parse_uint(const std::string& s, uint32_t lo, uint32_t hi, uint32_t& out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  const unsigned long v = std::stoul(s);
  if (v < lo || v > hi) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// DIR -> its image files sorted; @LIST -> the paths listed; anything else -> that file.
bool expand_input(const std::string& a, std::vector<std::string>& out, std::string& err) {
  std::error_code ec;
  if (!a.empty() && a[0] == '@') {
    std::ifstream f(a.substr(1));
    if (!f) {
      err = "cannot read list " + printable(a.substr(1));
      return false;
    }
    std::string line;
    size_t n = 0;
    while (std::getline(f, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      if (++n > 1000000) {
        err = "list " + printable(a.substr(1)) + " has more than 1000000 entries";
        return false;
      }
      out.push_back(line);
    }
    return true;
  }
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
    return true;
  }
  out.push_back(a);
  return true;
}

// Nearest-rank percentile (the value at index ceil(p/100 * n) - 1 of the sorted samples).
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double r = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t i = r < 1 ? 0 : std::min(sorted.size() - 1, static_cast<size_t>(r) - 1);
  return sorted[i];
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

struct Decision {
  int cls = -1;
  uint32_t route = 0;
  float confidence = 0;
  uint32_t tokens = 0;
  bool inconsistent = false;  // a later iteration decided differently (must never happen)
  size_t seen = 0, timed_seen = 0;
  double coarse_us = 0, fine_us = 0;  // sums over the timed iterations
};

}  // namespace

int cmd_bench(int argc, char** argv) {
  Args args;
  std::string error;
  const std::vector<OptSpec> specs = {
      {"--inputs", nullptr, true}, {"--pass", nullptr, true},   {"--threads", nullptr, true},
      {"--batch", nullptr, true},  {"--iters", nullptr, true},  {"--warmup", nullptr, true},
      {"--isa", nullptr, true},    {"--json", nullptr, false},  {"--allow-uncalibrated", nullptr, false},
      {"--help", "-h", false}};
  if (!parse_args(argc, argv, specs, args, error)) {
    std::fprintf(stderr, "triage bench: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (args.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args.positional.empty()) {
    std::fprintf(stderr, "triage bench: a model is required\n%s", kUsage);
    return 2;
  }
  triage_options opts;
  triage_options_init(&opts);
  if (args.has("--allow-uncalibrated")) opts.flags |= TRIAGE_OPEN_ALLOW_UNCALIBRATED;
  uint32_t batch = 1, iters = 200, warmup = 20;
  if (args.has("--threads") && !parse_uint(args.get("--threads"), 1, TRIAGE_MAX_THREADS, opts.threads)) {
    std::fprintf(stderr, "triage bench: --threads must be 1..%u\n", TRIAGE_MAX_THREADS);
    return 2;
  }
  if (args.has("--batch") && !parse_uint(args.get("--batch"), 1, TRIAGE_MAX_BATCH, batch)) {
    std::fprintf(stderr, "triage bench: --batch must be 1..%u\n", TRIAGE_MAX_BATCH);
    return 2;
  }
  if (args.has("--iters") && !parse_uint(args.get("--iters"), 1, 100000000, iters)) {
    std::fprintf(stderr, "triage bench: --iters must be 1..100000000\n");
    return 2;
  }
  if (args.has("--warmup") && !parse_uint(args.get("--warmup"), 0, 100000000, warmup)) {
    std::fprintf(stderr, "triage bench: --warmup must be 0..100000000\n");
    return 2;
  }
  opts.max_batch = batch;
  if (args.has("--isa")) {
    const int isa = triage_isa_from_name(args.get("--isa").c_str());
    if (isa < 0) {
      std::fprintf(stderr, "triage bench: unknown --isa '%s' (scalar, avx2, avx512, avx512_vnni, amx, neon)\n",
                   printable(args.get("--isa")).c_str());
      return 2;
    }
    opts.isa_cap = static_cast<uint32_t>(isa);
  }
  const std::string pass = args.get("--pass", "routed");
  if (pass == "coarse") opts.force = TRIAGE_FORCE_COARSE;
  else if (pass == "fine") opts.force = TRIAGE_FORCE_FINE;
  else if (pass == "fine-all") opts.force = TRIAGE_FORCE_FINE_ALL;
  else if (pass == "routed") opts.force = TRIAGE_FORCE_NONE;
  else {
    std::fprintf(stderr, "triage bench: --pass must be coarse, fine, fine-all or routed\n");
    return 2;
  }
  const bool as_json = args.has("--json");
  const std::string model_path = args.positional[0];

  // The cycle of inputs (paths, repeats allowed) and the distinct images behind it, decoded once.
  std::vector<std::string> cycle;
  std::vector<std::string> specs_in(args.positional.begin() + 1, args.positional.end());
  if (args.has("--inputs")) specs_in.insert(specs_in.begin(), args.get("--inputs"));
  for (const std::string& s : specs_in)
    if (!expand_input(s, cycle, error)) {
      std::fprintf(stderr, "triage bench: %s\n", error.c_str());
      return 1;
    }
  if (cycle.empty()) {
    std::fprintf(stderr, "triage bench: no input images (give --inputs DIR|FILE|@LIST or INPUT...)\n");
    return 2;
  }
  std::vector<std::string> distinct;
  std::map<std::string, size_t> index_of;
  std::vector<size_t> cycle_idx;
  for (const std::string& p : cycle) {
    auto it = index_of.find(p);
    if (it == index_of.end()) {
      it = index_of.emplace(p, distinct.size()).first;
      distinct.push_back(p);
    }
    cycle_idx.push_back(it->second);
  }
  std::vector<Image> images(distinct.size());
  for (size_t i = 0; i < distinct.size(); ++i)
    if (!read_image(distinct[i], images[i], error)) {
      std::fprintf(stderr, "triage bench: %s: %s\n", printable(distinct[i]).c_str(), printable(error).c_str());
      return 1;
    }
  std::vector<triage_image> views(cycle.size());

  triage_model* model = nullptr;
  const triage_status st = triage_open_file(model_path.c_str(), &opts, &model);
  if (st != TRIAGE_OK) {
    std::fprintf(stderr, "triage bench: cannot open %s: %s (%s)\n", printable(model_path).c_str(),
                 printable(triage_open_error()).c_str(), triage_status_name(st));
    return 1;
  }
  triage_model_info info;
  info.struct_size = sizeof(info);
  triage_get_info(model, &info);
  for (size_t i = 0; i < distinct.size(); ++i)  // the channel rule of image_io.h
    if (!convert_channels(images[i], info.in_channels, error)) {
      std::fprintf(stderr, "triage bench: %s: %s\n", printable(distinct[i]).c_str(), printable(error).c_str());
      triage_close(model);
      return 1;
    }
  for (size_t k = 0; k < cycle.size(); ++k) views[k] = images[cycle_idx[k]].view();

  // One iteration = one API call on `batch` consecutive entries of the cycle (wrapping around).
  std::vector<triage_image> call_imgs(batch);
  std::vector<size_t> call_pos(batch);
  std::vector<triage_result> results(batch);
  std::vector<Decision> dec(distinct.size());
  std::vector<double> lat_ms;
  lat_ms.reserve(iters);
  size_t pos = 0;
  size_t escalated = 0, timed_images = 0;
  int status = 0;
  auto run_iteration = [&](bool timed) -> bool {
    for (uint32_t b = 0; b < batch; ++b) {
      call_pos[b] = pos;
      call_imgs[b] = views[pos];
      pos = (pos + 1) % views.size();
    }
    const auto t0 = Clock::now();
    const triage_status cs = batch == 1 ? triage_classify(model, call_imgs.data(), results.data())
                                        : triage_classify_batch(model, call_imgs.data(), batch, results.data());
    const auto t1 = Clock::now();
    if (cs != TRIAGE_OK) {
      std::fprintf(stderr, "triage bench: classify failed: %s (%s)\n", printable(triage_last_error(model)).c_str(),
                   triage_status_name(cs));
      return false;
    }
    for (uint32_t b = 0; b < batch; ++b) {
      const triage_result& r = results[b];
      Decision& d = dec[cycle_idx[call_pos[b]]];
      if (d.seen == 0) {
        d.cls = r.class_index;
        d.route = r.route;
        d.confidence = r.confidence;
        d.tokens = r.tokens;
      } else if (d.cls != r.class_index || d.route != r.route || d.confidence != r.confidence) {
        d.inconsistent = true;
      }
      ++d.seen;
      if (timed) {
        d.coarse_us += r.coarse_us;
        d.fine_us += r.fine_us;
        ++d.timed_seen;
        escalated += r.route == TRIAGE_ROUTE_FINE;
      }
    }
    if (timed) {
      lat_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      timed_images += batch;
    }
    return true;
  };
  for (uint32_t i = 0; i < warmup && status == 0; ++i)
    if (!run_iteration(false)) status = 1;
  pos = 0;  // the timed iterations start at the head of the cycle
  const auto wall0 = Clock::now();
  for (uint32_t i = 0; i < iters && status == 0; ++i)
    if (!run_iteration(true)) status = 1;
  const double wall_s = std::chrono::duration<double>(Clock::now() - wall0).count();
  if (status != 0) {
    triage_close(model);
    return 1;
  }

  std::vector<double> sorted = lat_ms;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double v : lat_ms) sum += v;
  const double mean = sum / static_cast<double>(lat_ms.size());
  const double ips = sum > 0 ? static_cast<double>(timed_images) / (sum / 1000.0) : 0;
  size_t inconsistent = 0;
  for (const Decision& d : dec) inconsistent += d.inconsistent;
  const double esc = timed_images ? static_cast<double>(escalated) / static_cast<double>(timed_images) : 0;

  if (as_json) {
    json lat = json::array();
    for (double v : lat_ms) lat.push_back(v);
    json per = json::array();
    for (size_t i = 0; i < distinct.size(); ++i) {
      const Decision& d = dec[i];
      per.push_back({{"path", distinct[i]},
                     {"class", d.cls >= 0 ? info.class_names[d.cls] : ""},
                     {"class_index", d.cls},
                     {"confidence", d.confidence},
                     {"route", d.route == TRIAGE_ROUTE_FINE ? "fine" : "coarse"},
                     {"tokens", d.tokens},
                     {"consistent", !d.inconsistent},
                     {"mean_coarse_us", d.timed_seen ? d.coarse_us / static_cast<double>(d.timed_seen) : 0.0},
                     {"mean_fine_us", d.timed_seen ? d.fine_us / static_cast<double>(d.timed_seen) : 0.0}});
    }
    json out = {{"engine", "triage"},
                {"version", triage_version()},
                {"model", model_path},
                {"model_name", info.model_name},
                {"dtype", info.weight_dtype},
                {"isa", info.isa},
                {"pass", pass},
                {"threads", info.threads},
                {"batch", batch},
                {"iters", iters},
                {"warmup", warmup},
                {"router_calibrated", info.router_calibrated != 0},
                {"timed_region", "triage_classify / triage_classify_batch call: fused resize+normalise, passes, router"},
                {"summary",
                 {{"median_ms", percentile(sorted, 50)},
                  {"p90_ms", percentile(sorted, 90)},
                  {"p99_ms", percentile(sorted, 99)},
                  {"max_ms", sorted.back()},
                  {"min_ms", sorted.front()},
                  {"mean_ms", mean},
                  {"images_per_s", ips},
                  {"wall_s", wall_s},
                  {"images", timed_images},
                  {"escalation_rate", esc},
                  {"inconsistent_inputs", inconsistent}}},
                {"latency_ms", lat},
                {"inputs", per}};
    std::printf("%s\n", dump(out).c_str());
  } else {
    std::printf("triage bench: %s (%s, %s), pass %s, isa %s, threads %u, batch %u, %u iterations after %u warm-up\n",
                printable(info.model_name).c_str(), info.weight_dtype, info.arch, pass.c_str(), info.isa, info.threads,
                batch, iters, warmup);
    std::printf("latency per call: median %.3f ms, p90 %.3f, p99 %.3f, max %.3f, mean %.3f; %.1f images/s; "
                "escalated %.1f%%%s\n",
                percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99), sorted.back(), mean, ips,
                100.0 * esc, inconsistent ? "; WARNING: inconsistent decisions" : "");
    for (size_t i = 0; i < distinct.size(); ++i) {
      const Decision& d = dec[i];
      std::printf("  %s  %s  %s  %.4f%s\n", printable(distinct[i]).c_str(),
                  d.cls >= 0 ? printable(info.class_names[d.cls]).c_str() : "?",
                  d.route == TRIAGE_ROUTE_FINE ? "fine" : "coarse", d.confidence, d.inconsistent ? "  INCONSISTENT" : "");
    }
  }
  triage_close(model);
  return inconsistent ? 1 : 0;
}

}  // namespace triage::cli
