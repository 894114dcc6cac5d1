// End-to-end latency of triage_classify per model, pass (coarse, fine, routed) and thread count:
// p50 / p90 / p99 / max / mean wall time over N timed runs after a warm-up, cycling over the model's
// sample images (or random images at the model's full resolution when no image folder is given).
// Also the calling thread's CPU time per call (p50): on a shared, loaded machine the wall-time tail
// includes run-queue waits, while the 1-thread CPU time is the uncontended cost. The 1-minute load
// average is printed with each table so readers can judge the wall times.
//
//   bench_e2e MODEL.trw [--images DIR] [--runs N] [--threads 1,2] [--isa NAME] [--markdown]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "runtime/triage.h"
#include "tools/cli/image_io.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string model, images;
  int runs = 1000;
  std::vector<uint32_t> threads = {1, 2};
  int isa = TRIAGE_ISA_AUTO;
  bool markdown = false;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    const bool more = i + 1 < argc;
    if (s == "--images" && more) a.images = argv[++i];
    else if (s == "--runs" && more) a.runs = std::atoi(argv[++i]);
    else if (s == "--threads" && more) {
      a.threads.clear();
      for (char* t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ",")) a.threads.push_back(std::atoi(t));
    } else if (s == "--isa" && more) a.isa = triage_isa_from_name(argv[++i]);
    else if (s == "--markdown") a.markdown = true;
    else if (a.model.empty() && s[0] != '-') a.model = s;
    else return false;
  }
  return !a.model.empty() && a.runs > 0 && a.isa >= 0 && !a.threads.empty();
}

double thread_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

double load_average() {
  double l = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr, "usage: bench_e2e MODEL.trw [--images DIR] [--runs N] [--threads 1,2] [--isa NAME] [--markdown]\n");
    return 2;
  }
  triage_model* probe = nullptr;
  if (triage_open_file(a.model.c_str(), nullptr, &probe) != TRIAGE_OK) {
    std::fprintf(stderr, "bench_e2e: %s\n", triage_open_error());
    return 1;
  }
  triage_model_info info;
  info.struct_size = sizeof(info);
  triage_get_info(probe, &info);
  const std::string name = info.model_name, dtype = info.weight_dtype;
  const bool cfvit = std::strcmp(info.arch, "cfvit") == 0;
  const uint32_t side = info.img_full, channels = info.in_channels;
  triage_close(probe);

  std::vector<triage::cli::Image> imgs;
  if (!a.images.empty()) {
    std::vector<std::string> paths;
    for (const auto& e : std::filesystem::directory_iterator(a.images))
      if (e.is_regular_file() && triage::cli::is_image_name(e.path().string())) paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
    for (const std::string& p : paths) {
      triage::cli::Image img;
      std::string err;
      if (triage::cli::read_image(p, img, err) && img.channels == channels) imgs.push_back(std::move(img));
    }
  }
  if (imgs.empty()) {  // random u8 images at full resolution, fixed seed
    std::mt19937 rng(1);
    for (int i = 0; i < 16; ++i) {
      triage::cli::Image img;
      img.height = img.width = side;
      img.channels = channels;
      img.row_stride = static_cast<size_t>(side) * channels;
      img.storage.resize((img.row_stride * side + 1) / 2);
      for (size_t j = 0; j < img.row_stride * side; ++j) img.bytes()[j] = static_cast<uint8_t>(rng());
      imgs.push_back(std::move(img));
    }
  }

  std::printf("# %s: %s %s, %u classes, tokens coarse %u / fine %u, weights %zu bytes, %zu images%s, load average %.2f\n",
              a.model.c_str(), name.c_str(), dtype.c_str(), info.num_classes, info.tokens_coarse, info.tokens_fine,
              info.weight_bytes, imgs.size(), a.images.empty() ? " (random)" : "", load_average());
  if (a.markdown) {
    std::printf("| model | dtype | pass | threads | ISA | arena KiB | p50 ms | p90 ms | p99 ms | max ms | mean ms | CPU p50 ms | escalated |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  }
  struct Pass {
    const char* name;
    uint32_t force;
  };
  const std::vector<Pass> passes = cfvit ? std::vector<Pass>{{"coarse", TRIAGE_FORCE_COARSE}, {"fine", TRIAGE_FORCE_FINE},
                                                            {"routed", TRIAGE_FORCE_NONE}}
                                         : std::vector<Pass>{{"single", TRIAGE_FORCE_NONE}};
  for (const Pass& p : passes)
    for (uint32_t t : a.threads) {
      triage_options o;
      triage_options_init(&o);
      o.threads = t;
      o.force = p.force;
      o.isa_cap = static_cast<uint32_t>(a.isa);
      triage_model* m = nullptr;
      if (triage_open_file(a.model.c_str(), &o, &m) != TRIAGE_OK) {
        std::fprintf(stderr, "bench_e2e: %s\n", triage_open_error());
        return 1;
      }
      triage_get_info(m, &info);
      std::vector<triage_image> views;
      for (const auto& img : imgs) views.push_back(img.view());
      triage_result r;
      for (size_t i = 0; i < std::max<size_t>(50, views.size()); ++i) triage_classify(m, &views[i % views.size()], &r);
      std::vector<double> ms(a.runs), cpu(a.runs);
      int escalated = 0;
      for (int i = 0; i < a.runs; ++i) {
        const double c0 = thread_cpu_ms();
        const auto t0 = Clock::now();
        const triage_status st = triage_classify(m, &views[i % views.size()], &r);
        ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        cpu[i] = thread_cpu_ms() - c0;
        if (st != TRIAGE_OK) {
          std::fprintf(stderr, "bench_e2e: %s\n", triage_last_error(m));
          return 1;
        }
        escalated += r.route == TRIAGE_ROUTE_FINE;
      }
      double mean = 0;
      for (double v : ms) mean += v;
      mean /= a.runs;
      const double esc = 100.0 * escalated / a.runs;
      if (a.markdown)
        std::printf("| %s | %s | %s | %u | %s | %zu | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.1f%% |\n", name.c_str(),
                    dtype.c_str(), p.name, t, info.isa, info.arena_bytes / 1024, pct(ms, 50), pct(ms, 90), pct(ms, 99),
                    pct(ms, 100), mean, pct(cpu, 50), esc);
      else
        std::printf("%-12s %-4s %-7s threads=%u isa=%s runs=%d  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f ms  "
                    "cpu p50 %.3f ms  escalated %.1f%%\n",
                    name.c_str(), dtype.c_str(), p.name, t, info.isa, a.runs, pct(ms, 50), pct(ms, 90), pct(ms, 99), pct(ms, 100),
                    mean, pct(cpu, 50), esc);
      std::fflush(stdout);
      triage_close(m);
    }
  return 0;
}
