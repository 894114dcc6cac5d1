// End-to-end latency of triage_classify per model, pass (coarse, fine, routed) and thread count:
// p50 / p90 / p99 / max / mean wall time over N timed runs after a warm-up, cycling over the model's
// sample images (or random images at the model's full resolution when no image folder is given).
// Also the calling thread's CPU time per call (p50): on a shared, loaded machine the wall-time tail
// includes run-queue waits, while the 1-thread CPU time is the uncontended cost. The 1-minute load
// average is printed with each table so readers can judge the wall times.
//
//   bench_e2e MODEL.trw [--images DIR] [--runs N] [--threads 1,2] [--isa NAME] [--markdown] [--breakdown [--batch N]]
//
// --breakdown (issue 19): instead, the per-pass cost breakdown: every image forced through the fine
// pass (so the coarse pass runs too), per-op-class wall time per image (runtime/op_profile.h) for the
// coarse and the fine pass, each op's share of its pass, its MAC rate, and the share of this machine's
// peak for the unit it uses (the exact-int8 peak for a q8 model's linears, the FMA peak for the f32
// convs and attention), measured in the same run by the register-only loops of bench/kernels/peak_*.cpp
// (one thread's peak x threads).
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

#include "bench/kernels/peak.h"
#include "runtime/op_profile_access.h"
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
  bool breakdown = false;
  int batch = 1;  // --breakdown: images per triage_classify_batch call
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
    else if (s == "--breakdown") a.breakdown = true;
    else if (s == "--batch" && more) a.batch = std::atoi(argv[++i]);
    else if (a.model.empty() && s[0] != '-') a.model = s;
    else return false;
  }
  return !a.model.empty() && a.runs > 0 && a.isa >= 0 && !a.threads.empty() && a.batch >= 1 && a.batch <= 64;
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

// One thread's peak of a register-only loop, in G operations per second (best of 5).
double measure_peak(double (*fn)(int64_t)) {
  fn(1 << 16);  // warm up (clock ramp, AVX-512 licence)
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = thread_cpu_ms();
    const double ops = fn(int64_t(1) << 22);
    best = std::max(best, ops / ((thread_cpu_ms() - t0) * 1e-3) / 1e9);
  }
  return best;
}

// The per-pass breakdown of one model at `threads` threads (see the header comment).
int breakdown(const Args& a, const std::vector<triage_image>& views, uint32_t threads) {
  namespace rt = triage::rt;
  triage_options o;
  triage_options_init(&o);
  o.threads = threads;
  o.force = TRIAGE_FORCE_FINE;
  o.isa_cap = static_cast<uint32_t>(a.isa);
  o.max_batch = static_cast<uint32_t>(a.batch);
  triage_model* m = nullptr;
  if (triage_open_file(a.model.c_str(), &o, &m) != TRIAGE_OK) {
    std::fprintf(stderr, "bench_e2e: %s\n", triage_open_error());
    return 1;
  }
  triage_model_info info;
  info.struct_size = sizeof(info);
  triage_get_info(m, &info);
  const std::string isa = info.isa, name = info.model_name;  // the model's strings end with triage_close
  const bool q8 = std::strcmp(info.weight_dtype, "q8") == 0;
  // Peaks (one thread, G op/s; a MAC is 2 ops), measured now, beside the runs.
  const bool avx512 = isa == "avx512" || isa == "vnni" || isa == "amx";
  const double fma = measure_peak(avx512 ? triage::bench::peak_fma_avx512 : triage::bench::peak_fma_avx2);
  const double int8 = isa == "vnni" || isa == "amx" ? measure_peak(triage::bench::peak_vnni)
                                                    : measure_peak(triage::bench::peak_madd_avx2);
  rt::OpProfile prof;
  // Calls of `batch` consecutive images (cycling through the set); runs / batch calls, rounded up.
  const size_t nb = static_cast<size_t>(a.batch);
  std::vector<triage_image> call(nb);
  std::vector<triage_result> res(nb);
  auto classify = [&](size_t first) {
    for (size_t j = 0; j < nb; ++j) call[j] = views[(first + j) % views.size()];
    return nb == 1 ? triage_classify(m, call.data(), res.data()) : triage_classify_batch(m, call.data(), nb, res.data());
  };
  for (size_t i = 0; i < std::max<size_t>(50, views.size()); i += nb) classify(i);
  rt::attach_op_profile(m, &prof);
  double wall = 0;
  const int calls = (a.runs + a.batch - 1) / a.batch;
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    if (classify(static_cast<size_t>(i) * nb) != TRIAGE_OK) {
      std::fprintf(stderr, "bench_e2e: %s\n", triage_last_error(m));
      return 1;
    }
    wall += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  const double images = static_cast<double>(calls) * a.batch;
  rt::attach_op_profile(m, nullptr);
  triage_close(m);
  std::printf("\n## breakdown: %s (%s, isa %s), %u thread(s), batch %d, %.0f images forced fine, load average %.2f\n",
              name.c_str(), info.weight_dtype, isa.c_str(), threads, a.batch, images, load_average());
  std::printf("peaks measured now, x %u threads: %s %.1f G int8-op/s, FMA %.1f GFLOP/s\n", threads,
              isa == "vnni" || isa == "amx" ? "vnni" : "madd_avx2", int8 * threads, fma * threads);
  // Which unit each op's MACs run on: the linears of a q8 file on the int8 one; the stem convs, the patch
  // projection (an f32 GEMM in every file: runtime/packed_model.cpp) and attention on the FMA one.
  const bool int8_op[rt::kOpCount] = {false, false, false, false, q8, false, q8, q8, q8, q8, q8, false};
  double timed = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const double n = static_cast<double>(prof.images[pass]);
    double total = 0, int8_macs = 0, fma_macs = 0;
    for (int op = 0; op < rt::kOpCount; ++op) {
      total += prof.seconds[pass][op];
      (int8_op[op] ? int8_macs : fma_macs) += prof.macs[pass][op];
    }
    timed += total;
    // Two limits: the (every MAC of the pass at the exact-int8 peak), and the machine's for
    // this file as it is (each op's MACs at the peak of the unit it runs on; data movement, LayerNorm,
    // softmax and preprocessing free).
    const double all_int8 = 2 * (int8_macs + fma_macs) / (int8 * 1e9 * threads);
    const double units = 2 * int8_macs / (int8 * 1e9 * threads) + 2 * fma_macs / (fma * 1e9 * threads);
    std::printf("\n%s pass: %.1f us/image; every MAC at the exact-int8 peak: %.1f us (%.0f%%); each op at its unit's "
                "peak (%s linears, f32 stem / patch / attention): %.1f us (%.0f%%)\n",
                pass == 0 ? "coarse" : "fine", 1e6 * total / n, 1e6 * all_int8 / n, 100.0 * all_int8 / total,
                q8 ? "int8" : "f32", 1e6 * units / n, 100.0 * units / total);
    std::printf("| op | us/image | share | GMAC/image | G op/s | %% of peak |\n|---|---:|---:|---:|---:|---:|\n");
    for (int op = 0; op < rt::kOpCount; ++op) {
      const double s = prof.seconds[pass][op], macs = prof.macs[pass][op];
      if (s == 0) continue;
      const double gops = 2 * macs / s / 1e9, peak = (int8_op[op] ? int8 : fma) * threads;
      if (macs > 0)
        std::printf("| %s | %.1f | %.1f%% | %.4f | %.1f | %.0f%% (%s) |\n", rt::op_name(static_cast<rt::Op>(op)), 1e6 * s / n,
                    100 * s / total, macs / n / 1e9, gops, 100 * gops / peak, int8_op[op] ? "int8" : "fma");
      else
        std::printf("| %s | %.1f | %.1f%% | - | - | - |\n", rt::op_name(static_cast<rt::Op>(op)), 1e6 * s / n, 100 * s / total);
    }
  }
  std::printf("\ntimed ops %.1f us/image of %.1f us/image wall in the classify calls (the rest: result copies, calls)\n",
              1e6 * timed / images, 1e6 * wall / images);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr, "usage: bench_e2e MODEL.trw [--images DIR] [--runs N] [--threads 1,2] [--isa NAME] [--markdown] "
                         "[--breakdown [--batch N]]\n");
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

  if (a.breakdown) {
    if (!cfvit) {
      std::fprintf(stderr, "bench_e2e: --breakdown is for cfvit models (coarse and fine pass)\n");
      return 2;
    }
    std::vector<triage_image> views;
    for (const auto& img : imgs) views.push_back(img.view());
    for (uint32_t t : a.threads)
      if (const int rc = breakdown(a, views, t)) return rc;
    return 0;
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
