// bench_cuda: CUDA kernel timings on the model family's shapes (with operation / byte counts for a
// roofline, against measured ceilings: a device-to-device copy and cuBLAS bf16 / int8 GEMMs) and the
// whole routed forward through triage_cuda.h at several batch sizes. Used by tools/gpu-check.sh.
//
//   bench_cuda [--model M.trw]... [--images DIR] [--batches 1,8,64] [--reps N] [--e2e-runs N] [--csv FILE]
//              [--e2e-only | --kernels-only]
//
// Kernel times: each kernel launched 20 times back to back inside a CUDA graph, the graph replayed
// `reps` times, each replay timed with CUDA events; the median replay / 20 is reported (launch gaps
// mostly hidden; inputs stay L2-resident between launches, as they do inside the engine's forward).
// End to end: host wall time of triage_cuda_classify_batch (pixel staging, upload, both graphs,
// download, host router), median and p99 over e2e-runs calls after a warm-up. Without a CUDA device the
// program prints "no CUDA device: ..." and exits 0.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "kernels/cuda/cost.h"
#include "kernels/cuda/kernels.h"
#include "runtime/model_config.h"
#include "runtime/triage_cuda.h"
#include "tools/cli/image_io.h"
#include "weights_format/trw.h"

namespace {

namespace k = triage::cuda;
namespace cost = triage::cuda::cost;
using Clock = std::chrono::steady_clock;

#define CK(x)                                                                                    \
  do {                                                                                           \
    const cudaError_t e_ = (x);                                                                  \
    if (e_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "bench_cuda: %s: %s (%s)\n", #x, cudaGetErrorName(e_), cudaGetErrorString(e_)); \
      std::exit(1);                                                                              \
    }                                                                                            \
  } while (0)

struct Args {
  std::vector<std::string> models;
  std::string images, csv;
  std::vector<int> batches = {1, 8, 64};
  int reps = 50, e2e_runs = 100;
  bool kernels = true, e2e = true;
};

// cuBLAS is loaded at run time (dlopen), only for the comparison rows: the program builds and runs
// without it (the rows then say so). gpu-check.sh points LD_LIBRARY_PATH at PyTorch's copy.
struct Cublas {
  using Create = cublasStatus_t (*)(cublasHandle_t*);
  using Destroy = cublasStatus_t (*)(cublasHandle_t);
  using SetStream = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
  using GemmEx = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                                    const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                                    cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
  Create create = nullptr;
  Destroy destroy = nullptr;
  SetStream set_stream = nullptr;
  GemmEx gemm_ex = nullptr;
  bool load() {
    void* h = nullptr;
    for (const char* n : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"})
      if ((h = dlopen(n, RTLD_NOW | RTLD_LOCAL))) break;
    if (!h) return false;
    create = reinterpret_cast<Create>(dlsym(h, "cublasCreate_v2"));
    destroy = reinterpret_cast<Destroy>(dlsym(h, "cublasDestroy_v2"));
    set_stream = reinterpret_cast<SetStream>(dlsym(h, "cublasSetStream_v2"));
    gemm_ex = reinterpret_cast<GemmEx>(dlsym(h, "cublasGemmEx"));
    return create && destroy && set_stream && gemm_ex;
  }
};
Cublas g_cublas;

FILE* g_csv = nullptr;
double g_peak_bw = 0, g_peak_bf16 = 0, g_peak_i8 = 0;  // measured ceilings: B/s, flop/s, op/s

std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  for (const char* p = s; *p;) {
    v.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p) ++p;
  }
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

// Median time of one launch of fn (us): 20 launches captured in a graph, replayed `reps` times.
double time_kernel(const std::function<cudaError_t(cudaStream_t)>& fn, int reps) {
  constexpr int kInner = 20;
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CK(fn(s));  // warm-up + launch check outside the graph
  CK(cudaStreamSynchronize(s));
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < kInner; ++i) {
    const cudaError_t e = fn(s);
    if (e != cudaSuccess) {
      cudaGraph_t g;
      cudaStreamEndCapture(s, &g);
      CK(e);
    }
  }
  cudaGraph_t g;
  CK(cudaStreamEndCapture(s, &g));
  cudaGraphExec_t ge;
  CK(cudaGraphInstantiate(&ge, g, 0));
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) CK(cudaGraphLaunch(ge, s));
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    CK(cudaEventRecord(a, s));
    CK(cudaGraphLaunch(ge, s));
    CK(cudaEventRecord(b, s));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1000.0 / kInner);
  }
  CK(cudaGetLastError());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  cudaGraphExecDestroy(ge);
  cudaGraphDestroy(g);
  cudaStreamDestroy(s);
  return median(t);
}

void report(const char* model, const char* name, int batch, double us, const cost::Cost& c, bool int8) {
  const double ops = c.ops / (us * 1e-6), bw = c.bytes / (us * 1e-6);
  const double peak_ops = int8 ? g_peak_i8 : g_peak_bf16;
  std::printf("  %-34s B=%-3d %9.2f us  %8.2f T%s/s (%5.1f%%)  %7.1f GB/s (%5.1f%%)\n", name, batch, us, ops / 1e12,
              int8 ? "op" : "flop", peak_ops > 0 ? 100 * ops / peak_ops : 0, bw / 1e9, g_peak_bw > 0 ? 100 * bw / g_peak_bw : 0);
  if (g_csv)
    std::fprintf(g_csv, "kernel,%s,%s,%d,%.3f,,%.0f,%.0f,%.4f,%.4f\n", model, name, batch, us, c.ops, c.bytes, ops / 1e12,
                 bw / 1e12);
}

// A device buffer filled with random bytes / values (never zeros: zeros hide unwritten outputs and can
// run faster than real data).
struct Dev {
  void* p = nullptr;
  size_t bytes = 0;
  explicit Dev(size_t n) : bytes(std::max<size_t>(n, 256)) { CK(cudaMalloc(&p, bytes)); }
  ~Dev() { cudaFree(p); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p);
  }
  void fill_i8(uint32_t seed) {
    std::vector<int8_t> h(bytes);
    std::mt19937 g(seed);
    for (auto& x : h) x = static_cast<int8_t>(static_cast<int>(g() % 255) - 127);
    CK(cudaMemcpy(p, h.data(), bytes, cudaMemcpyHostToDevice));
  }
  void fill_f32(uint32_t seed, float lo, float hi) {
    std::vector<float> h(bytes / 4);
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (auto& x : h) x = d(g);
    CK(cudaMemcpy(p, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
  }
  void fill_bf16(uint32_t seed) {
    std::vector<uint16_t> h(bytes / 2);
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    for (auto& x : h) x = triage::trw::f32_to_bf16(d(g));
    CK(cudaMemcpy(p, h.data(), h.size() * 2, cudaMemcpyHostToDevice));
  }
};

// Ceilings measured on this device: a large device-to-device copy, and cuBLAS GEMMs at 8192^3 (bf16)
// and 8192 x 8192 x 8192 int8 (when cuBLAS supports it here).
void measure_ceilings(cublasHandle_t h) {
  const size_t n = size_t(1) << 30;
  Dev a(n), b(n);
  CK(cudaMemset(a.p, 1, n));
  const double us = time_kernel([&](cudaStream_t s) { return cudaMemcpyAsync(b.p, a.p, n, cudaMemcpyDeviceToDevice, s); }, 10);
  g_peak_bw = 2.0 * n / (us * 1e-6);
  if (!h) {
    std::printf("ceilings (measured): copy %.2f TB/s (read + write)\n", g_peak_bw / 1e12);
    return;
  }
  const int S = 8192;
  Dev x(size_t(S) * S * 2), w(size_t(S) * S * 2), y(size_t(S) * S * 4);
  x.fill_bf16(1);
  w.fill_bf16(2);
  const float one = 1, zero = 0;
  auto bf16 = [&](cudaStream_t s) {
    g_cublas.set_stream(h, s);
    const cublasStatus_t st = g_cublas.gemm_ex(h, CUBLAS_OP_T, CUBLAS_OP_N, S, S, S, &one, w.p, CUDA_R_16BF, S, x.p,
                                           CUDA_R_16BF, S, &zero, y.p, CUDA_R_32F, S, CUBLAS_COMPUTE_32F,
                                           CUBLAS_GEMM_DEFAULT);
    return st == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorUnknown;
  };
  const double tb = time_kernel(bf16, 5);
  g_peak_bf16 = 2.0 * S * S * S / (tb * 1e-6);
  const int32_t ione = 1, izero = 0;
  auto i8 = [&](cudaStream_t s) {
    g_cublas.set_stream(h, s);
    const cublasStatus_t st = g_cublas.gemm_ex(h, CUBLAS_OP_T, CUBLAS_OP_N, S, S, S, &ione, w.p, CUDA_R_8I, S, x.p,
                                           CUDA_R_8I, S, &izero, y.p, CUDA_R_32I, S, CUBLAS_COMPUTE_32I,
                                           CUBLAS_GEMM_DEFAULT);
    return st == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorNotSupported;
  };
  cudaStream_t s;
  CK(cudaStreamCreate(&s));
  const bool i8_ok = i8(s) == cudaSuccess && cudaStreamSynchronize(s) == cudaSuccess;
  cudaStreamDestroy(s);
  const double ti = i8_ok ? time_kernel(i8, 5) : 0;
  g_peak_i8 = i8_ok ? 2.0 * S * S * S / (ti * 1e-6) : 0;
  std::printf("ceilings (measured): copy %.2f TB/s (read + write), cuBLAS bf16 %.1f TFLOP/s, cuBLAS int8 %s\n",
              g_peak_bw / 1e12, g_peak_bf16 / 1e12,
              i8_ok ? (std::to_string(g_peak_i8 / 1e12).substr(0, 6) + " TOP/s").c_str() : "n/a");
  if (g_csv)
    std::fprintf(g_csv, "ceiling,,copy_TBps,,,,,,,%.4f\nceiling,,cublas_bf16_TFLOPs,,,,,,%.4f,\nceiling,,cublas_int8_TOPs,,,,,,%.4f,\n",
                 g_peak_bw / 1e12, g_peak_bf16 / 1e12, g_peak_i8 / 1e12);
}

// Kernel timings at one model's shapes and batch B.
void bench_kernels(const std::string& name, const triage::rt::ModelConfig& c, int B, int reps, int smem,
                   cublasHandle_t hb) {
  const bool cf = c.arch == triage::rt::Arch::CfVit;
  const int D = c.D, H = c.H, hd = c.hd, hidden = c.hidden;
  const int Nc = cf ? 1 + c.Gc : 1 + c.Gf, Nf = cf ? c.tokens_fine(c.K) : Nc;
  std::printf("%s, batch %d (coarse tokens %d, fine tokens %d)\n", name.c_str(), B, Nc, Nf);
  const int Mmax = B * std::max(Nc, Nf);
  Dev a8(size_t(Mmax) * std::max(D, hidden)), ab(size_t(Mmax) * std::max(D, hidden) * 2);
  Dev w8(size_t(3 * D) * hidden), wb(size_t(3 * D) * hidden * 2);
  Dev sc(size_t(Mmax) * 4), ws(size_t(std::max(3 * D, hidden)) * 4), bias(size_t(std::max(3 * D, hidden)) * 4);
  Dev y(size_t(Mmax) * std::max(3 * D, hidden) * 4), yq(size_t(Mmax) * hidden), yqs(size_t(Mmax) * 4);
  Dev x(size_t(Mmax) * 3 * D * 4), out(size_t(Mmax) * D * 4), probs(size_t(B) * H * std::max(Nc, Nf) * 4);
  a8.fill_i8(1);
  ab.fill_bf16(2);
  w8.fill_i8(3);
  wb.fill_bf16(4);
  sc.fill_f32(5, 0.001f, 0.01f);
  ws.fill_f32(6, 0.001f, 0.01f);
  bias.fill_f32(7, -0.1f, 0.1f);
  y.fill_f32(8, -1.f, 1.f);
  x.fill_f32(9, -2.f, 2.f);
  auto gemm = [&](const char* what, bool q8, int M, int N, int K, k::GemmOut o, bool gelu) {
    k::GemmArgs g;
    g.type = q8 ? k::GemmType::Q8 : k::GemmType::BF16;
    g.a = q8 ? a8.p : ab.p;
    g.lda = K;
    g.a_scale = sc.as<float>();
    g.w = q8 ? w8.p : wb.p;
    g.w_scale = ws.as<float>();
    g.bias = bias.as<float>();
    g.M = M;
    g.N = N;
    g.K = K;
    g.gelu = gelu;
    g.out = o;
    g.y = y.as<float>();
    g.ldy = N;
    g.yb = y.p;
    g.ldyb = N;
    g.yq = yq.as<int8_t>();
    g.ldyq = N;
    g.yq_scale = yqs.as<float>();
    g.rowq_staging = y.as<float>();
    g.smem_optin = smem;
    const double us = time_kernel([&](cudaStream_t s) { return k::gemm(g, s); }, reps);
    const double ob = o == k::GemmOut::BF16 ? 2 : o == k::GemmOut::Q8ROW ? 1 : 4;
    report(name.c_str(), what, B, us, cost::gemm(M, N, K, q8 ? 1 : 2, ob, o == k::GemmOut::F32_ACC, q8), q8);
  };
  auto cublas = [&](const char* what, bool q8, int M, int N, int K) {
    if (!hb) return;
    const float one = 1, zero = 0;
    const int32_t ione = 1, izero = 0;
    auto fn = [&](cudaStream_t s) {
      g_cublas.set_stream(hb, s);
      const cublasStatus_t st =
          q8 ? g_cublas.gemm_ex(hb, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &ione, w8.p, CUDA_R_8I, K, a8.p, CUDA_R_8I, K,
                            &izero, y.p, CUDA_R_32I, N, CUBLAS_COMPUTE_32I, CUBLAS_GEMM_DEFAULT)
             : g_cublas.gemm_ex(hb, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &one, wb.p, CUDA_R_16BF, K, ab.p, CUDA_R_16BF, K,
                            &zero, y.p, CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      return st == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorNotSupported;
    };
    cudaStream_t s;
    CK(cudaStreamCreate(&s));
    const bool ok = fn(s) == cudaSuccess && cudaStreamSynchronize(s) == cudaSuccess;
    cudaStreamDestroy(s);
    cudaGetLastError();
    if (!ok) {
      std::printf("  %-34s B=%-3d   (cuBLAS: not supported for this shape)\n", what, B);
      return;
    }
    report(name.c_str(), what, B, time_kernel(fn, reps), cost::gemm(M, N, K, q8 ? 1 : 2, q8 ? 4 : 4, false, q8), q8);
  };
  auto attn = [&](const char* what, int n, bool bf16out) {
    k::AttentionArgs at;
    at.qkv = x.as<float>();
    at.n_tokens = n;
    at.dim = D;
    at.heads = H;
    at.scale = 1.f / std::sqrt(float(hd));
    at.images = B;
    at.out = out.p;
    at.out_bf16 = bf16out;
    at.cls_probs = probs.as<float>();
    const double us = time_kernel([&](cudaStream_t s) { return k::attention(at, s); }, reps);
    report(name.c_str(), what, B, us, cost::attention(B, H, n, hd, bf16out ? 2 : 4), false);
  };
  auto ln = [&](const char* what, int rows) {
    k::RowArgs r;
    r.x = x.as<float>();
    r.in.ld = D;
    r.rows = rows;
    r.dim = D;
    r.gamma = bias.as<float>();
    r.beta = bias.as<float>();
    r.out = k::RowOut::Q8;
    r.y = yq.p;
    r.ldy = D;
    r.y_scale = yqs.as<float>();
    const double us = time_kernel([&](cudaStream_t s) { return k::layernorm_rows(r, s); }, reps);
    report(name.c_str(), what, B, us, cost::rows(rows, D, 1, true), false);
  };
  for (int pass = 0; pass < (cf ? 2 : 1); ++pass) {
    const int n = pass == 0 ? Nc : Nf, M = B * n;
    const std::string p = cf ? (pass == 0 ? "coarse " : "fine ") : "";
    ln((p + "layernorm->q8").c_str(), M);
    gemm((p + "qkv q8").c_str(), true, M, 3 * D, D, k::GemmOut::F32, false);
    gemm((p + "qkv bf16").c_str(), false, M, 3 * D, D, k::GemmOut::F32, false);
    if (pass == 0) {
      cublas((p + "qkv cuBLAS int8->int32").c_str(), true, M, 3 * D, D);
      cublas((p + "qkv cuBLAS bf16->f32").c_str(), false, M, 3 * D, D);
    }
    attn((p + "attention f32").c_str(), n, false);
    attn((p + "attention ->bf16").c_str(), n, true);
    gemm((p + "proj q8 +res").c_str(), true, M, D, D, k::GemmOut::F32_ACC, false);
    gemm((p + "fc1 q8 gelu->q8 rows").c_str(), true, M, hidden, D, k::GemmOut::Q8ROW, true);
    gemm((p + "fc1 bf16 gelu->bf16").c_str(), false, M, hidden, D, k::GemmOut::BF16, true);
    gemm((p + "fc2 q8 +res").c_str(), true, M, D, hidden, k::GemmOut::F32_ACC, false);
    if (pass == 0) cublas((p + "fc1 cuBLAS int8->int32").c_str(), true, M, hidden, D);
  }
  if (cf) {
    // Stem on the coarse image, and the fine pass's regions.
    const int Sc = c.Sc, h1 = Sc / 2;
    Dev img(size_t(B) * Sc * Sc * c.C * 4 + size_t(B) * c.Sf * c.Sf * c.C * 4), s1(size_t(B) * h1 * h1 * c.c1 * 4 + 256);
    Dev wp(size_t(9) * 1024 * 1024), gat(size_t(B) * c.Gc * c.p * c.p * c.c2 * 2 + size_t(B) * c.K * 4 * c.p * c.p * c.c2 * 2);
    img.fill_f32(10, -1.f, 1.f);
    wp.fill_f32(11, -0.3f, 0.3f);
    k::ConvArgs c0;
    c0.in = img.as<float>();
    c0.in_stride = int64_t(Sc) * Sc * c.C;
    c0.ld_in = int64_t(Sc) * c.C;
    c0.h = c0.w = Sc;
    c0.cin = c.C;
    c0.wp = wp.as<float>();
    c0.bias = bias.as<float>();
    c0.cout = c.c1;
    c0.z = B;
    c0.out = s1.as<float>();
    report(name.c_str(), "coarse stem conv0", B, time_kernel([&](cudaStream_t s) { return k::conv3x3s2(c0, s); }, reps),
           cost::conv3x3s2(B, Sc, Sc, c.C, c.c1, 4), false);
    k::ConvArgs c1 = c0;
    c1.in = s1.as<float>();
    c1.in_stride = int64_t(h1) * h1 * c.c1;
    c1.ld_in = int64_t(h1) * c.c1;
    c1.h = c1.w = h1;
    c1.cin = c.c1;
    c1.cout = c.c2;
    c1.out = nullptr;
    c1.out_patch = gat.p;
    c1.pk = c.p;
    report(name.c_str(), "coarse stem conv1 ->patch rows", B,
           time_kernel([&](cudaStream_t s) { return k::conv3x3s2(c1, s); }, reps), cost::conv3x3s2(B, h1, h1, c.c1, c.c2, 2),
           false);
    gemm("coarse patch projection bf16", false, B * c.Gc, D, c.p * c.p * c.c2, k::GemmOut::F32, false);
    // resize: a 1024 x 1024 u8 image per slot to Sc
    Dev pix(size_t(B) * 1024 * 1024);
    pix.fill_i8(12);
    std::vector<k::ImageDesc> desc(B);
    for (int i = 0; i < B; ++i) {
      desc[i].data = pix.as<uint8_t>() + size_t(i) * 1024 * 1024;
      desc[i].row_stride = 1024;
      desc[i].pixel = 1;
      desc[i].height = desc[i].width = 1024;
      desc[i].channels = c.C;
    }
    Dev ddesc(sizeof(k::ImageDesc) * B);
    CK(cudaMemcpy(ddesc.p, desc.data(), sizeof(k::ImageDesc) * B, cudaMemcpyHostToDevice));
    k::ResizeArgs rz;
    rz.desc = ddesc.as<k::ImageDesc>();
    rz.images = B;
    rz.S = Sc;
    rz.C = c.C;
    rz.out = img.as<float>();
    report(name.c_str(), "resize 1024^2 u8 -> coarse", B,
           time_kernel([&](cudaStream_t s) { return k::resize_normalize(rz, s); }, reps),
           cost::resize(B, 1024, 1024, c.C, 1, Sc), false);
    // top-k over the coarse patches, and the router
    Dev scores(size_t(B) * c.Gc * 4), order(size_t(B) * c.Gc * 4), ctl(64), flags(size_t(B) * 4);
    scores.fill_f32(13, 0.f, 1.f);
    k::SelectArgs sa;
    sa.scores = scores.as<float>();
    sa.Gc = c.Gc;
    sa.k = c.K;
    sa.slots = B;
    sa.order = order.as<int32_t>();
    report(name.c_str(), "top-k select", B, time_kernel([&](cudaStream_t s) { return k::topk_select(sa, s); }, reps),
           cost::Cost{double(B) * c.Gc * c.Gc, double(B) * c.Gc * 8}, false);
    const int32_t nb = B;
    CK(cudaMemcpy(ctl.p, &nb, 4, cudaMemcpyHostToDevice));
    k::RouterArgs ra;
    ra.logits = y.as<float>();
    ra.n = ctl.as<int32_t>();
    ra.images = B;
    ra.ncls = c.ncls();
    ra.good = c.good;
    ra.coarse_good = c.router.coarse_good;
    ra.coarse_defect = c.router.coarse_defect;
    ra.flags = flags.as<int32_t>();
    ra.esc = order.as<int32_t>();
    ra.m = ctl.as<int32_t>() + 1;
    report(name.c_str(), "router + compaction", B,
           time_kernel([&](cudaStream_t s) { return k::router_compact(ra, s); }, reps),
           cost::Cost{double(B) * c.ncls() * 8, double(B) * (c.ncls() * 4 + 8)}, false);
  }
}

std::vector<triage::cli::Image> load_images(const std::string& dir) {
  std::vector<triage::cli::Image> out;
  if (dir.empty() || !std::filesystem::is_directory(dir)) return out;
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && triage::cli::is_image_name(e.path().string())) paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  for (const std::string& p : paths) {
    triage::cli::Image img;
    std::string err;
    if (triage::cli::read_image(p, img, err)) out.push_back(std::move(img));
  }
  return out;
}

// Random images at the model's full resolution (smooth structure + noise).
std::vector<triage::cli::Image> random_images(const triage::rt::ModelConfig& c, int count) {
  std::vector<triage::cli::Image> v(count);
  std::mt19937 g(42);
  for (int i = 0; i < count; ++i) {
    triage::cli::Image& m = v[i];
    m.pixel = TRIAGE_PIXEL_U8;
    m.height = m.width = static_cast<uint32_t>(c.Sf);
    m.channels = static_cast<uint32_t>(c.C);
    m.row_stride = size_t(c.Sf) * c.C;
    m.storage.assign((m.row_stride * m.height + 1) / 2, 0);
    uint8_t* b = m.bytes();
    for (size_t j = 0; j < m.row_stride * m.height; ++j) b[j] = static_cast<uint8_t>(g());
  }
  return v;
}

void bench_e2e(const std::string& path, const std::vector<uint8_t>& bytes, const triage::rt::ModelConfig& c,
               const std::vector<triage::cli::Image>& imgs_in, const std::vector<int>& batches, int runs) {
  const std::vector<triage::cli::Image> imgs = imgs_in.empty() ? random_images(c, 64) : std::vector<triage::cli::Image>();
  const std::vector<triage::cli::Image>& pool = imgs_in.empty() ? imgs : imgs_in;
  std::vector<triage_image> views;
  for (const auto& m : pool) views.push_back(m.view());
  const char* fname[] = {"routed", "coarse", "fine", "fine-all"};
  for (uint32_t force : {uint32_t(TRIAGE_FORCE_NONE), uint32_t(TRIAGE_FORCE_COARSE), uint32_t(TRIAGE_FORCE_FINE)}) {
    if (c.arch == triage::rt::Arch::Vit && force != TRIAGE_FORCE_NONE) continue;
    for (int B : batches) {
      triage_cuda_options o;
      triage_cuda_options_init(&o);
      o.max_batch = static_cast<uint32_t>(B);
      o.force = force;
      size_t maxb = 0;
      for (const auto& v : views) maxb = std::max(maxb, size_t(v.height) * v.width * v.channels * (v.pixel == 2 ? 2 : 1));
      o.max_image_bytes = std::max<uint64_t>(maxb, 1);
      triage_cuda_model* m = nullptr;
      if (triage_cuda_open_memory(bytes.data(), bytes.size(), &o, &m) != TRIAGE_OK) {
        std::printf("  open failed: %s\n", triage_cuda_open_error());
        std::exit(1);
      }
      std::vector<triage_image> batch(B);
      std::vector<triage_result> res(B);
      std::vector<double> wall;
      double coarse_us = 0, fine_us = 0;
      size_t escalated = 0, total = 0;
      const int warm = 5;
      for (int r = 0; r < warm + runs; ++r) {
        for (int i = 0; i < B; ++i) batch[i] = views[(size_t(r) * B + i) % views.size()];
        const auto t0 = Clock::now();
        if (triage_cuda_classify_batch(m, batch.data(), B, res.data()) != TRIAGE_OK) {
          std::printf("  classify failed: %s\n", triage_cuda_last_error(m));
          std::exit(1);
        }
        const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
        if (r < warm) continue;
        wall.push_back(us);
        for (int i = 0; i < B; ++i) {
          coarse_us += res[i].coarse_us;
          fine_us += res[i].fine_us;
          escalated += res[i].route == TRIAGE_ROUTE_FINE;
          ++total;
        }
      }
      triage_cuda_close(m);
      const double p50 = median(wall), p99 = pct(wall, 0.99);
      std::printf("  e2e %-9s %-8s B=%-3d p50 %9.1f us  p99 %9.1f us  %9.0f img/s  escalated %5.1f%%  (device: coarse "
                  "%.1f us/img, fine %.1f us/img)\n",
                  std::filesystem::path(path).stem().c_str(), fname[force], B, p50, p99, B / (p50 * 1e-6),
                  100.0 * escalated / std::max<size_t>(total, 1), coarse_us / std::max<size_t>(total, 1),
                  fine_us / std::max<size_t>(escalated, 1));
      if (g_csv)
        std::fprintf(g_csv, "e2e,%s,%s,%d,%.2f,%.2f,,,,\n", std::filesystem::path(path).stem().c_str(), fname[force], B,
                     p50, p99);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    const bool more = i + 1 < argc;
    if (s == "--model" && more) a.models.push_back(argv[++i]);
    else if (s == "--images" && more) a.images = argv[++i];
    else if (s == "--batches" && more) a.batches = parse_list(argv[++i]);
    else if (s == "--reps" && more) a.reps = std::max(1, std::atoi(argv[++i]));
    else if (s == "--e2e-runs" && more) a.e2e_runs = std::max(1, std::atoi(argv[++i]));
    else if (s == "--csv" && more) a.csv = argv[++i];
    else if (s == "--e2e-only") a.kernels = false;
    else if (s == "--kernels-only") a.e2e = false;
    else {
      std::fprintf(stderr, "usage: bench_cuda [--model M.trw]... [--images DIR] [--batches 1,8,64] [--reps N] "
                           "[--e2e-runs N] [--csv FILE] [--e2e-only | --kernels-only]\n");
      return 2;
    }
  }
  int ndev = 0;
  const cudaError_t e = cudaGetDeviceCount(&ndev);
  if (e != cudaSuccess || ndev == 0) {
    std::printf("no CUDA device: %s\n", e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount returned 0");
    return 0;
  }
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  int smem = 0;
  CK(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  CK(k::kernels_init(smem));
  std::printf("device 0: %s, sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB\n", prop.name, prop.major, prop.minor,
              prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0, prop.l2CacheSize / 1048576.0);
  if (!a.csv.empty()) {
    g_csv = std::fopen(a.csv.c_str(), "w");
    if (g_csv) std::fprintf(g_csv, "kind,model,name,batch,median_us,p99_us,ops,bytes,tops,tbps\n");
  }
  cublasHandle_t hb = nullptr;
  if (!g_cublas.load() || g_cublas.create(&hb) != CUBLAS_STATUS_SUCCESS) {
    hb = nullptr;
    std::printf("cuBLAS not loadable (libcublas.so.13): no cuBLAS ceilings or comparison rows\n");
  }
  if (a.kernels) measure_ceilings(hb);
  const std::vector<triage::cli::Image> imgs = load_images(a.images);
  for (const std::string& path : a.models) {
    triage::trw::Buffer buf;
    triage::trw::Error te;
    triage::trw::File f;
    triage::rt::ModelConfig cfg;
    triage::rt::ModelText text;
    triage::rt::Error err;
    if (!buf.read_file(path, te) || !f.parse(buf.span(), te) || !triage::rt::load_config(f, cfg, text, err)) {
      std::fprintf(stderr, "bench_cuda: %s: %s%s\n", path.c_str(), te.message.c_str(), err.message);
      return 1;
    }
    const std::string name = std::filesystem::path(path).stem().string();
    if (a.kernels)
      for (int B : a.batches)
        if (B == a.batches.front() || B == a.batches.back()) bench_kernels(name, cfg, B, a.reps, smem, hb);
    if (!a.e2e) continue;
    const std::vector<uint8_t> bytes(buf.span().begin(), buf.span().end());
    std::vector<triage::cli::Image> mine;
    for (const auto& m : imgs)
      if (m.channels == static_cast<uint32_t>(cfg.C)) mine.push_back(m);
    bench_e2e(path, bytes, cfg, mine, a.batches, a.e2e_runs);
  }
  if (hb) g_cublas.destroy(hb);
  if (g_csv) std::fclose(g_csv);
  return 0;
}
