// Kernel benchmarks on the model family's real shapes, one thread. Each reports GFLOPS (GOPS for
// int8: multiply and add counted as 2 ops) and pct_peak: % of this machine's peak for the unit the
// kernel uses, measured at start-up by the register-only loops in peak_*.cpp (also reported as
// benchmarks of their own). With oneDNN present the same GEMM shapes run through dnnl::matmul
// (weights pre-packed via format_tag::any, f32 and u8s8s32). Run oneDNN single-threaded:
//   OMP_NUM_THREADS=1 ./bench_kernels
// (libgomp reads the variable when it loads; setting it from main() would be too late).
#include <benchmark/benchmark.h>

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/kernels/peak.h"
#include "kernels/cpu/kernels.h"

#ifdef TRIAGE_BENCH_DNNL
#include <dnnl.hpp>
#endif

namespace k = triage::kernels;
namespace b = triage::bench;

namespace {

// Thread CPU time, not wall time: the benchmark machine is shared (other builds run beside it),
// and time spent descheduled must not count against a kernel. Single-threaded code only.
double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct Peaks {
  double fma_avx2 = 0, madd_avx2 = 0, fma_avx512 = 0, vnni = 0, amx = 0;  // GOPS
} g_peak;

bool have(k::Isa isa) { return static_cast<int>(k::detect_isa()) >= static_cast<int>(isa); }

double measure_peak(double (*fn)(int64_t)) {
  fn(1 << 16);  // warm up (clock ramp, AVX-512 license)
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = thread_seconds();
    const double ops = fn(int64_t(1) << 22);
    const double s = thread_seconds() - t0;
    best = std::max(best, ops / s / 1e9);
  }
  return best;
}

void* aligned(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }

std::vector<float> randf(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}
std::vector<int8_t> randi8(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = int8_t(int(g() % 255) - 127);
  return v;
}

// Runs body() in the benchmark loop, then sets GFLOPS and pct_peak from our own clock.
void timed(benchmark::State& st, double ops, double peak, const std::function<void()>& body) {
  body();
  const double t0 = thread_seconds();
  for (auto _ : st) body();
  const double s = thread_seconds() - t0;
  const double g = ops * double(st.iterations()) / s / 1e9;
  st.counters["GFLOPS"] = g;
  if (peak > 0) st.counters["pct_peak"] = 100.0 * g / peak;
}

struct GemmShape {
  const char* model;
  const char* op;
  int m, n, k;
};

std::vector<GemmShape> gemm_shapes() {
  std::vector<GemmShape> v;
  struct Op { const char* name; int n, k; };
  const Op defect[] = {{"qkv", 576, 192}, {"proj", 192, 192}, {"fc1", 768, 192}, {"fc2", 192, 768}};
  const Op wafer[] = {{"qkv", 384, 128}, {"proj", 128, 128}, {"fc1", 512, 128}, {"fc2", 128, 512}};
  for (int m : {50, 86, 197, 400, 1576})
    for (const Op& o : defect) v.push_back({"defect", o.name, m, o.n, o.k});
  for (int m : {17, 29, 65, 136, 520})
    for (const Op& o : wafer) v.push_back({"wafer", o.name, m, o.n, o.k});
  v.push_back({"defect", "head", 1, 7, 192});
  v.push_back({"defect", "head", 8, 7, 192});
  v.push_back({"wafer", "head", 8, 9, 128});
  return v;
}

std::string shape_name(const GemmShape& s) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s/%s/M=%d,N=%d,K=%d", s.model, s.op, s.m, s.n, s.k);
  return buf;
}

double f32_peak(k::Isa isa) {
  return static_cast<int>(isa) >= static_cast<int>(k::Isa::Avx512) ? g_peak.fma_avx512 : g_peak.fma_avx2;
}
double q8_peak(k::Isa isa) {
  switch (isa) {
    case k::Isa::Amx: return g_peak.amx;
    case k::Isa::Avx512Vnni: return g_peak.vnni;
    default: return g_peak.madd_avx2;  // exact int16 vpmaddwd path (Avx2, Avx512)
  }
}

void bench_gemm_f32(benchmark::State& st, k::Isa isa, GemmShape s) {
  const auto w = randf(size_t(s.n) * s.k, 1), x = randf(size_t(s.m) * s.k, 2), bias = randf(s.n, 3);
  void* pk = aligned(k::gemm_f32_packed_bytes(isa, s.n, s.k));
  const k::PackedF32 p = k::gemm_f32_pack(isa, w.data(), s.n, s.k, s.k, pk);
  std::vector<float> y(size_t(s.m) * s.n), scratch(k::gemm_f32_scratch_floats(p) + 1);
  k::GemmEpilogue ep;
  ep.bias = bias.data();
  ep.y = y.data();
  ep.ldy = s.n;
  timed(st, 2.0 * s.m * s.n * s.k, f32_peak(isa),
        [&] { k::gemm_f32(p, x.data(), s.k, ep, 0, s.m, 0, s.n, scratch.data()); });
  std::free(pk);
}

// The epilogue a GEMM call runs: f32 out with bias (as every plain benchmark), + GELU, + GELU and
// per-token int8 requantisation of the output (the MLP's fc1 as the forward pass runs it).
enum class Epi { Bias, Gelu, GeluQ8 };

void bench_gemm_q8_epi(benchmark::State& st, k::Isa isa, GemmShape s, Epi epi) {
  const auto w = randi8(size_t(s.n) * s.k, 1), x = randi8(size_t(s.m) * s.k, 2);
  const auto ws = randf(s.n, 3), xs = randf(s.m, 4), bias = randf(s.n, 5);
  void* pk = aligned(k::gemm_q8_packed_bytes(isa, s.n, s.k));
  const k::PackedQ8 p = k::gemm_q8_pack(isa, w.data(), ws.data(), s.n, s.k, s.k, pk);
  std::vector<float> y(size_t(s.m) * s.n), scratch(k::gemm_q8_scratch_floats(p) + 1), yqs(s.m);
  std::vector<int8_t> yq(size_t(s.m) * s.n);
  k::GemmEpilogue ep;
  ep.bias = bias.data();
  ep.gelu = epi != Epi::Bias;
  if (epi == Epi::GeluQ8) {
    ep.yq = yq.data();
    ep.ldyq = s.n;
    ep.yq_scale = yqs.data();
  } else {
    ep.y = y.data();
    ep.ldy = s.n;
  }
  timed(st, 2.0 * s.m * s.n * s.k, q8_peak(isa),
        [&] { k::gemm_q8(p, x.data(), s.k, xs.data(), ep, 0, s.m, 0, s.n, scratch.data()); });
  std::free(pk);
}

void bench_gemm_q8(benchmark::State& st, k::Isa isa, GemmShape s) { bench_gemm_q8_epi(st, isa, s, Epi::Bias); }

#ifdef TRIAGE_BENCH_DNNL
void bench_dnnl(benchmark::State& st, bool int8, GemmShape s) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const dnnl::memory::dim M = s.m, N = s.n, K = s.k;
  const dt sdt = int8 ? dt::u8 : dt::f32, wdt = int8 ? dt::s8 : dt::f32, ddt = int8 ? dt::s32 : dt::f32;
  dnnl::memory::desc sd({M, K}, sdt, tag::ab), wd({K, N}, wdt, tag::any), dd({M, N}, ddt, tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(sd, wd, dd), eng);
  dnnl::matmul mm(pd);
  dnnl::memory src(pd.src_desc(), eng), dst(pd.dst_desc(), eng), wei(pd.weights_desc(), eng);
  // Weights as PyTorch [N, K] = [K, N] in "ba"; reordered (pre-packed) once.
  dnnl::memory wplain({{K, N}, wdt, tag::ba}, eng);
  if (int8) {
    const auto w = randi8(size_t(N) * K, 1), x = randi8(size_t(M) * K, 2);
    std::memcpy(wplain.get_data_handle(), w.data(), w.size());
    uint8_t* sp = static_cast<uint8_t*>(src.get_data_handle());
    for (size_t i = 0; i < x.size(); ++i) sp[i] = uint8_t(x[i] + 128);
  } else {
    const auto w = randf(size_t(N) * K, 1), x = randf(size_t(M) * K, 2);
    std::memcpy(wplain.get_data_handle(), w.data(), w.size() * 4);
    std::memcpy(src.get_data_handle(), x.data(), x.size() * 4);
  }
  dnnl::reorder(wplain, wei).execute(strm, wplain, wei);
  strm.wait();
  const double peak = int8 ? g_peak.madd_avx2 : (g_peak.fma_avx512 > 0 ? g_peak.fma_avx512 : g_peak.fma_avx2);
  timed(st, 2.0 * M * N * K, peak, [&] {
    mm.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
    strm.wait();
  });
}

// Is oneDNN's u8s8s32 matmul exact on this machine? Extreme inputs (every x = 255, every w = 127)
// make each vpmaddubsw pair sum 2 * 255 * 127 = 64770, beyond int16; random inputs in the range the
// benchmark uses show how often real data is affected. Returns the largest |error| relative to the
// largest |exact| output of the matrix, and the share of outputs that differ.
struct DnnlExactness { double extreme_rel_err, random_rel_err, random_wrong_share; };
DnnlExactness dnnl_u8s8s32_exactness() {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const int M = 64, N = 64, K = 192;
  dnnl::memory::desc sd({M, K}, dt::u8, tag::ab), wd({K, N}, dt::s8, tag::any), dd({M, N}, dt::s32, tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(sd, wd, dd), eng);
  dnnl::memory src(pd.src_desc(), eng), dst(pd.dst_desc(), eng), wei(pd.weights_desc(), eng);
  dnnl::memory wplain({{K, N}, dt::s8, tag::ab}, eng);
  auto run = [&](const std::vector<uint8_t>& x, const std::vector<int8_t>& w, double* rel, double* wrong) {
    std::memcpy(src.get_data_handle(), x.data(), x.size());
    std::memcpy(wplain.get_data_handle(), w.data(), w.size());
    dnnl::reorder(wplain, wei).execute(strm, wplain, wei);
    dnnl::matmul(pd).execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
    strm.wait();
    const int32_t* y = static_cast<const int32_t*>(dst.get_data_handle());
    double worst = 0, scale = 1;
    int64_t bad = 0;
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        int64_t exact = 0;
        for (int kk = 0; kk < K; ++kk) exact += int64_t(x[size_t(m) * K + kk]) * w[size_t(kk) * N + n];
        const double err = std::fabs(double(y[m * N + n]) - double(exact));
        bad += err != 0;
        worst = std::max(worst, err);
        scale = std::max(scale, std::fabs(double(exact)));
      }
    *rel = worst / scale;
    *wrong = double(bad) / double(M * N);
  };
  DnnlExactness r{};
  double unused;
  run(std::vector<uint8_t>(size_t(M) * K, 255), std::vector<int8_t>(size_t(K) * N, 127), &r.extreme_rel_err, &unused);
  const auto xi = randi8(size_t(M) * K, 7);
  std::vector<uint8_t> xu(xi.size());
  for (size_t i = 0; i < xi.size(); ++i) xu[i] = uint8_t(xi[i] + 128);  // as bench_dnnl feeds it
  run(xu, randi8(size_t(K) * N, 8), &r.random_rel_err, &r.random_wrong_share);
  return r;
}
#endif

void bench_layernorm_q8(benchmark::State& st, k::Isa isa, int m, int d) {
  const auto x = randf(size_t(m) * d, 1), g = randf(d, 2), bb = randf(d, 3);
  std::vector<int8_t> y(size_t(m) * d);
  std::vector<float> s(m);
  // ~8 flops per element (mean, centred square, normalise, affine, quantise).
  timed(st, 8.0 * m * d, 0, [&] {
    k::layernorm_quant_q8(isa, x.data(), d, m, d, g.data(), bb.data(), 1e-6f, y.data(), d, s.data());
  });
}

void bench_attention(benchmark::State& st, k::Isa isa, int n, int heads, int hd) {
  const int dim = heads * hd;
  const auto qkv = randf(size_t(n) * 3 * dim, 1);
  std::vector<float> out(size_t(n) * dim), cls(n), scratch(k::attention_scratch_floats(isa, n, hd));
  k::AttentionArgs a;
  a.qkv = qkv.data();
  a.ld_qkv = 3 * dim;
  a.n_tokens = n;
  a.dim = dim;
  a.heads = heads;
  a.scale = 1.f / std::sqrt(float(hd));
  a.out = out.data();
  a.ld_out = dim;
  a.cls_probs = cls.data();
  // QK^T and PV: 4 n^2 hd flops per head (exp not counted).
  timed(st, 4.0 * n * n * hd * heads, f32_peak(isa), [&] {
    for (int h = 0; h < heads; ++h) k::attention_f32(isa, a, h, 0, n, scratch.data());
  });
}

void bench_conv(benchmark::State& st, k::Isa isa, int h, int cin, int cout) {
  const auto in = randf(size_t(h) * h * cin, 1), w = randf(size_t(cout) * cin * 9, 2), bias = randf(cout, 3);
  std::vector<float> wp(k::conv3x3s2_packed_floats(cout, cin));
  k::conv3x3s2_pack_f32(w.data(), cout, cin, wp.data());
  const int ho = (h + 1) / 2;
  std::vector<float> out(size_t(ho) * ho * cout);
  timed(st, 2.0 * ho * ho * cout * cin * 9, f32_peak(isa), [&] {
    k::conv3x3s2_f32(isa, in.data(), h, h, cin, int64_t(h) * cin, wp.data(), bias.data(), cout, true, out.data(), 0, ho);
  });
}

void bench_resize(benchmark::State& st, k::Isa isa, int h, int w, int S, bool u16) {
  std::vector<uint8_t> img8(size_t(h) * w, 7);
  std::vector<uint16_t> img16(size_t(h) * w, 700);
  std::vector<float> out(size_t(S) * S), scratch(k::resize_scratch_floats(isa, w, 1, S) + 1);
  k::ResizeNorm p{S, u16 ? 65535.f : 255.f, 0.5f, 0.25f};
  // ~12 flops per output pixel (4 divides counted as 1 each).
  timed(st, 12.0 * S * S, 0, [&] {
    if (u16) k::resize_normalize_u16(isa, img16.data(), h, w, 1, w, p, out.data(), 0, S, scratch.data());
    else k::resize_normalize_u8(isa, img8.data(), h, w, 1, w, p, out.data(), 0, S, scratch.data());
  });
}

void register_all() {
  auto peak_bench = [](const char* name, double (*fn)(int64_t), double* store) {
    benchmark::RegisterBenchmark(name, [fn, store](benchmark::State& st) {
      double ops = 0;
      const double t0 = thread_seconds();
      for (auto _ : st) ops += fn(int64_t(1) << 20);
      const double s = thread_seconds() - t0;
      st.counters["GFLOPS"] = ops / s / 1e9;
      st.counters["pct_peak"] = 100.0 * (ops / s / 1e9) / *store;
    });
  };
  if (have(k::Isa::Avx2)) {
    peak_bench("peak/fma_avx2", b::peak_fma_avx2, &g_peak.fma_avx2);
    peak_bench("peak/madd_avx2", b::peak_madd_avx2, &g_peak.madd_avx2);
  }
  if (have(k::Isa::Avx512)) peak_bench("peak/fma_avx512", b::peak_fma_avx512, &g_peak.fma_avx512);
  if (have(k::Isa::Avx512Vnni)) peak_bench("peak/vnni", b::peak_vnni, &g_peak.vnni);
  if (have(k::Isa::Amx)) peak_bench("peak/amx", b::peak_amx, &g_peak.amx);

  const k::Isa isas[] = {k::Isa::Avx2, k::Isa::Avx512, k::Isa::Avx512Vnni, k::Isa::Amx};
  for (const GemmShape& s : gemm_shapes()) {
    const std::string sn = shape_name(s);
    for (k::Isa isa : isas) {
      if (!have(isa)) continue;
      if (isa != k::Isa::Avx512Vnni && isa != k::Isa::Amx)  // f32 layouts: Avx2, Avx512
        benchmark::RegisterBenchmark(("gemm_f32/" + std::string(k::isa_name(isa)) + "/" + sn).c_str(), bench_gemm_f32, isa, s);
      if (isa != k::Isa::Avx512)  // q8 at Avx512 is the AVX2 kernel
        benchmark::RegisterBenchmark(("gemm_q8/" + std::string(k::isa_name(isa)) + "/" + sn).c_str(), bench_gemm_q8, isa, s);
    }
    if (std::strcmp(s.op, "fc1") == 0)  // the MLP's epilogues: what GELU and requantisation cost
      for (k::Isa isa : isas)
        if (have(isa) && isa != k::Isa::Avx512) {
          const std::string pre = "gemm_q8_epi/" + std::string(k::isa_name(isa)) + "/" + sn;
          benchmark::RegisterBenchmark((pre + "/gelu").c_str(), bench_gemm_q8_epi, isa, s, Epi::Gelu);
          benchmark::RegisterBenchmark((pre + "/gelu_q8").c_str(), bench_gemm_q8_epi, isa, s, Epi::GeluQ8);
        }
    if (s.m <= 86 && std::strcmp(s.op, "fc1") == 0) {  // the scalar reference, for scale
      benchmark::RegisterBenchmark(("gemm_f32/scalar/" + sn).c_str(), bench_gemm_f32, k::Isa::Scalar, s);
      benchmark::RegisterBenchmark(("gemm_q8/scalar/" + sn).c_str(), bench_gemm_q8, k::Isa::Scalar, s);
    }
#ifdef TRIAGE_BENCH_DNNL
    benchmark::RegisterBenchmark(("dnnl_f32/" + sn).c_str(), bench_dnnl, false, s);
    benchmark::RegisterBenchmark(("dnnl_u8s8s32/" + sn).c_str(), bench_dnnl, true, s);
#endif
  }
  for (k::Isa isa : {k::Isa::Scalar, k::Isa::Avx2}) {
    if (!have(isa)) continue;
    const std::string in = k::isa_name(isa);
    for (auto [m, d] : {std::pair{197, 192}, std::pair{1576, 192}, std::pair{65, 128}})
      benchmark::RegisterBenchmark(("layernorm_q8/" + in + "/M=" + std::to_string(m) + ",D=" + std::to_string(d)).c_str(),
                                   bench_layernorm_q8, isa, m, d);
    for (auto [n, h, hd] : {std::tuple{50, 3, 64}, std::tuple{86, 3, 64}, std::tuple{197, 3, 64},
                            std::tuple{17, 4, 32}, std::tuple{29, 4, 32}, std::tuple{65, 4, 32}})
      benchmark::RegisterBenchmark(("attention/" + in + "/N=" + std::to_string(n) + ",H=" + std::to_string(h) +
                                    ",hd=" + std::to_string(hd)).c_str(), bench_attention, isa, n, h, hd);
    if (isa == k::Isa::Avx2 && have(k::Isa::Avx512))  // the AVX-512 attention kernel beside the AVX2 one
      for (auto [n, h, hd] : {std::tuple{50, 3, 64}, std::tuple{86, 3, 64}, std::tuple{197, 3, 64},
                              std::tuple{17, 4, 32}, std::tuple{29, 4, 32}, std::tuple{65, 4, 32}})
        benchmark::RegisterBenchmark(("attention/avx512/N=" + std::to_string(n) + ",H=" + std::to_string(h) +
                                      ",hd=" + std::to_string(hd)).c_str(), bench_attention, k::Isa::Avx512, n, h, hd);
    for (auto [hh, ci, co] : {std::tuple{112, 1, 24}, std::tuple{56, 24, 48}, std::tuple{224, 1, 24},
                              std::tuple{112, 24, 48}, std::tuple{32, 1, 16}, std::tuple{16, 16, 32}})
      benchmark::RegisterBenchmark(("conv3x3s2/" + in + "/H=" + std::to_string(hh) + ",Cin=" + std::to_string(ci) +
                                    ",Cout=" + std::to_string(co)).c_str(), bench_conv, isa, hh, ci, co);
    for (auto [h, w, S, u16] : {std::tuple{1024, 1024, 224, false}, std::tuple{1024, 1024, 112, false},
                                std::tuple{200, 200, 224, false}, std::tuple{480, 640, 224, true},
                                std::tuple{52, 52, 64, false}})
      benchmark::RegisterBenchmark(("resize/" + in + "/" + std::to_string(h) + "x" + std::to_string(w) + "->" +
                                    std::to_string(S) + (u16 ? "/u16" : "/u8")).c_str(), bench_resize, isa, h, w, S, u16);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (have(k::Isa::Avx2)) {
    g_peak.fma_avx2 = measure_peak(b::peak_fma_avx2);
    g_peak.madd_avx2 = measure_peak(b::peak_madd_avx2);
  }
  if (have(k::Isa::Avx512)) g_peak.fma_avx512 = measure_peak(b::peak_fma_avx512);
  if (have(k::Isa::Avx512Vnni)) g_peak.vnni = measure_peak(b::peak_vnni);
  if (have(k::Isa::Amx)) g_peak.amx = measure_peak(b::peak_amx);
  std::printf("isa=%s peaks (GOPS): fma_avx2 %.1f madd_avx2 %.1f fma_avx512 %.1f vnni %.1f amx %.1f%s\n",
              k::isa_name(k::detect_isa()), g_peak.fma_avx2, g_peak.madd_avx2, g_peak.fma_avx512, g_peak.vnni,
              g_peak.amx, have(k::Isa::Amx) ? "" : " (AMX absent: skipped)");
  benchmark::AddCustomContext("peak_fma_avx2_gflops", std::to_string(g_peak.fma_avx2));
  benchmark::AddCustomContext("peak_madd_avx2_gops", std::to_string(g_peak.madd_avx2));
  benchmark::AddCustomContext("peak_fma_avx512_gflops", std::to_string(g_peak.fma_avx512));
  benchmark::AddCustomContext("peak_vnni_gops", std::to_string(g_peak.vnni));
  benchmark::AddCustomContext("peak_amx_gops", std::to_string(g_peak.amx));
  benchmark::AddCustomContext("isa", k::isa_name(k::detect_isa()));
#ifdef TRIAGE_BENCH_DNNL
  const DnnlExactness ex = dnnl_u8s8s32_exactness();
  std::printf("dnnl u8s8s32 vs exact int32 (M=N=64, K=192): all x=255, w=127: max |err| / max |exact| %.3g; "
              "random x, w: %.3g, %.1f%% of outputs differ\n",
              ex.extreme_rel_err, ex.random_rel_err, 100.0 * ex.random_wrong_share);
  benchmark::AddCustomContext("dnnl_u8s8s32_extreme_rel_err", std::to_string(ex.extreme_rel_err));
  benchmark::AddCustomContext("dnnl_u8s8s32_random_rel_err", std::to_string(ex.random_rel_err));
  benchmark::AddCustomContext("dnnl_u8s8s32_random_wrong_share", std::to_string(ex.random_wrong_share));
#endif
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
