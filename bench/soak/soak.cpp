// Soak: classifies N images through the C API (routed, with a mix of batch sizes 1..8 and the model's own
// mix of coarse exits and escalations), sampling resident memory (/proc/self/statm) and per-call latency
// percentiles every W images. Reports each window and the drifts the issue asks about: RSS after the
// first window (warm-up) to the last, and p99 between the first and last windows. Decisions must not
// change over the run (every image's class is checked against its first decision).
//   bench/soak/soak MODEL.trw IMAGE_DIR [--images 1000000] [--window 50000] [--threads 2] [--max-rss-drift-kib K]
// Exit status 1 when a decision changed, a call failed, or (with --max-rss-drift-kib) memory grew more
// than K KiB after warm-up. Latency is reported, never judged (timings here are noisy).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "runtime/triage.h"
#include "tools/cli/image_io.h"

namespace {

long rss_kib() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    std::fclose(f);
  }
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p / 100.0 * double(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: soak MODEL.trw IMAGE_DIR [--images N] [--window W] [--threads T] [--max-rss-drift-kib K]\n");
    return 2;
  }
  long total = 1000000, window = 50000, max_drift = -1;
  unsigned threads = 2;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--images")) total = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--window")) window = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = unsigned(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--max-rss-drift-kib")) max_drift = std::atol(argv[i + 1]);
    else { std::fprintf(stderr, "soak: unknown option %s\n", argv[i]); return 2; }
  }
  if (total < 1 || window < 1 || threads < 1) { std::fprintf(stderr, "soak: bad numbers\n"); return 2; }
  std::vector<triage::cli::Image> imgs;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(argv[2]))
    if (triage::cli::is_image_name(e.path().filename().string())) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    triage::cli::Image im;
    std::string err;
    if (!triage::cli::read_image(f, im, err)) { std::fprintf(stderr, "soak: %s: %s\n", f.c_str(), err.c_str()); return 1; }
    imgs.push_back(std::move(im));
  }
  if (imgs.empty()) { std::fprintf(stderr, "soak: no images in %s\n", argv[2]); return 1; }
  constexpr unsigned kMaxBatch = 8;
  triage_options o;
  triage_options_init(&o);
  o.threads = threads;
  o.max_batch = kMaxBatch;
  triage_model* m = nullptr;
  if (triage_open_file(argv[1], &o, &m) != TRIAGE_OK) { std::fprintf(stderr, "soak: %s\n", triage_open_error()); return 1; }
  std::vector<triage_image> views;
  for (const auto& im : imgs) views.push_back(im.view());
  std::vector<int> first(imgs.size(), -1);
  std::vector<triage_result> res(kMaxBatch);
  std::vector<triage_image> batch(kMaxBatch);
  std::vector<double> lat;  // per-call ms / images in the call (per-image latency of a call)
  lat.reserve(size_t(window));
  long done = 0, escalated = 0, changed = 0, failed = 0, rss0 = 0, rss_last = 0;
  double p99_first = 0, p99_last = 0;
  const long rss_start = rss_kib();
  std::printf("soak: %s, %zu distinct images, %ld images, window %ld, threads %u, batch 1..%u, start RSS %ld KiB\n",
              argv[1], imgs.size(), total, window, threads, kMaxBatch, rss_start);
  std::printf("| window | images | RSS KiB | p50 ms | p90 ms | p99 ms | max ms | escalated |\n|---|---|---|---|---|---|---|---|\n");
  size_t cursor = 0;
  unsigned pattern = 0;
  long win_images = 0, win_esc = 0, wi = 0;
  while (done < total) {
    const unsigned b = 1 + (pattern++ * 5 + 3) % kMaxBatch;  // deterministic mix of batch sizes
    const unsigned n = unsigned(std::min<long>(b, total - done));
    std::vector<size_t> idx(n);
    for (unsigned i = 0; i < n; ++i) {
      idx[i] = cursor;
      batch[i] = views[cursor];
      cursor = (cursor + 1) % views.size();
    }
    const auto t0 = std::chrono::steady_clock::now();
    const triage_status s = n == 1 ? triage_classify(m, &batch[0], &res[0]) : triage_classify_batch(m, batch.data(), n, res.data());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (s != TRIAGE_OK) { ++failed; std::fprintf(stderr, "soak: classify: %s\n", triage_last_error(m)); break; }
    for (unsigned i = 0; i < n; ++i) {
      if (first[idx[i]] < 0) first[idx[i]] = res[i].class_index;
      changed += first[idx[i]] != res[i].class_index;
      escalated += res[i].route == TRIAGE_ROUTE_FINE;
      win_esc += res[i].route == TRIAGE_ROUTE_FINE;
    }
    lat.push_back(ms / n);
    done += n;
    win_images += n;
    if (win_images >= window || done == total) {
      const long r = rss_kib();
      const double p99 = pct(lat, 99);
      if (wi == 0) { rss0 = r; p99_first = p99; }
      rss_last = r;
      p99_last = p99;
      std::printf("| %ld | %ld | %ld | %.3f | %.3f | %.3f | %.3f | %.1f%% |\n", wi + 1, done, r, pct(lat, 50), pct(lat, 90), p99,
                  pct(lat, 100), 100.0 * double(win_esc) / double(win_images));
      std::fflush(stdout);
      lat.clear();
      win_images = win_esc = 0;
      ++wi;
    }
  }
  triage_close(m);
  const long drift = rss_last - rss0;
  std::printf("soak: %ld images, %ld failed calls, %ld changed decisions, escalated %.1f%%; RSS after warm-up %ld -> %ld KiB "
              "(drift %+ld KiB); p99 first %.3f ms, last %.3f ms (%+.1f%%)\n",
              done, failed, changed, 100.0 * double(escalated) / double(std::max(1L, done)), rss0, rss_last, drift,
              p99_first, p99_last, p99_first > 0 ? 100.0 * (p99_last - p99_first) / p99_first : 0.0);
  if (failed || changed) return 1;
  if (max_drift >= 0 && drift > max_drift) { std::printf("soak: RSS drift %ld KiB > %ld KiB\n", drift, max_drift); return 1; }
  return 0;
}
