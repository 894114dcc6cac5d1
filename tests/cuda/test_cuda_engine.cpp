// The CUDA engine end to end against the CPU engine (triage.h) on random models and on the shipped
// models' golden images (models/<name>/goldens.safetensors, build/models/<name>.<dtype>.trw from the
// runtime_convert fixture), plus what only the GPU path has: batch buckets, device compaction, graphs
// versus direct launches, device input, the caller's stream, and misuse.
//
// Tolerances: centred logits (log-probabilities), norm-wise relative error against the CPU engine on the
// same file:
//   q8 files 2e-2 (the same int8 GEMMs; LayerNorm/attention/GELU reduce in another order, which can move
//     a per-token int8 rounding by one step);
//   f32 files 5e-2 (the GPU runs f32-stored linears in bf16 with f32 accumulation, the CPU in f32).
// Decisions: the same class wherever the CPU's top-2 probability margin is >= 0.05, and the same route
// wherever the CPU's deciding coarse probability is >= 0.01 away from its threshold. Results of one image
// are bit-identical across batch sizes, runs, graphs versus direct launches, host versus device input.
#include <algorithm>
#include <cstring>
#include <set>

#include "runtime/router.h"
#include "runtime/triage_cuda.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/runtime/mixed_route.h"
#include "tests/runtime/oracle_runner.h"  // centred_log, centred
#include "tests/runtime/shipped_model.h"

namespace triage::test {
namespace {

constexpr double kTolQ8 = 2e-2;
constexpr double kTolF32 = 5e-2;
constexpr float kTieMargin = 0.05f;
constexpr double kThresholdMargin = 0.01;

const uint32_t kForces[] = {TRIAGE_FORCE_NONE, TRIAGE_FORCE_COARSE, TRIAGE_FORCE_FINE, TRIAGE_FORCE_FINE_ALL};
const char* force_name(uint32_t f) {
  static const char* n[] = {"routed", "coarse", "fine", "fine-all"};
  return f < 4 ? n[f] : "?";
}

float margin(const float* p, int n) {
  float a = 0, b = 0;
  for (int i = 0; i < n; ++i) {
    if (p[i] > a) {
      b = a;
      a = p[i];
    } else if (p[i] > b) {
      b = p[i];
    }
  }
  return a - b;
}

struct Gpu {
  triage_cuda_model* m = nullptr;
  Gpu(const std::vector<uint8_t>& bytes, uint32_t force, uint32_t max_batch = 8, uint32_t flags = 0,
      void* stream = nullptr, uint64_t max_image_bytes = 4u << 20) {
    triage_cuda_options o;
    triage_cuda_options_init(&o);
    o.max_batch = max_batch;
    o.force = force;
    o.flags = flags | TRIAGE_CUDA_ALLOW_UNCALIBRATED;  // as the CPU engines of these tests (test_util.h options())
    o.stream = stream;
    o.max_image_bytes = max_image_bytes;
    EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_OK) << triage_cuda_open_error();
  }
  ~Gpu() { triage_cuda_close(m); }
  std::vector<triage_result> run(const std::vector<triage_image>& v, bool device = false) {
    std::vector<triage_result> r(v.size());
    const triage_status st = device ? triage_cuda_classify_batch_device(m, v.data(), v.size(), r.data())
                                    : triage_cuda_classify_batch(m, v.data(), v.size(), r.data());
    EXPECT_EQ(st, TRIAGE_OK) << triage_cuda_last_error(m);
    return r;
  }
};

struct Cpu {
  triage_model* m = nullptr;
  Cpu(const std::vector<uint8_t>& bytes, uint32_t force) {
    triage_options o = options(1, 1, force);
    EXPECT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_OK) << triage_open_error();
  }
  ~Cpu() { triage_close(m); }
  triage_result run(const triage_image& v) {
    triage_result r{};
    EXPECT_EQ(triage_classify(m, &v, &r), TRIAGE_OK) << triage_last_error(m);
    return r;
  }
};

// A snapshot of results (probabilities are only valid until the next call).
struct Snap {
  std::vector<float> p;
  int cls = -1;
  uint32_t route = 0, tokens = 0;
};
std::vector<Snap> snap(const std::vector<triage_result>& r, int ncls) {
  std::vector<Snap> s;
  for (const triage_result& x : r) s.push_back({std::vector<float>(x.probabilities, x.probabilities + ncls), x.class_index, x.route, x.tokens});
  return s;
}
bool same(const std::vector<Snap>& a, const std::vector<Snap>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].cls != b[i].cls || a[i].route != b[i].route || a[i].tokens != b[i].tokens ||
        std::memcmp(a[i].p.data(), b[i].p.data(), a[i].p.size() * sizeof(float)) != 0)
      return false;
  return true;
}

// How far the CPU's coarse decision is from a router threshold (routed runs): p = the CPU engine's
// coarse-pass probabilities.
double threshold_distance(const float* p, const triage_model_info& info) {
  const int n = static_cast<int>(info.num_classes), good = info.good_class;
  const int d = rt::top_defect(p, n, good);
  double dist = std::fabs(static_cast<double>(p[good]) - info.coarse_good_threshold);
  if (d >= 0) dist = std::min(dist, std::fabs(static_cast<double>(p[d]) - info.coarse_defect_threshold));
  return dist;
}

// Compares the GPU engine with the CPU engine on the images, for every route policy.
void compare_with_cpu(const std::vector<uint8_t>& bytes, const std::vector<triage_image>& views, double tol,
                      const char* what) {
  Cpu coarse(bytes, TRIAGE_FORCE_COARSE);  // the CPU's coarse probabilities, for threshold distances
  triage_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(triage_get_info(coarse.m, &info), TRIAGE_OK);
  const int n = static_cast<int>(info.num_classes);
  const bool cfvit = std::string(info.arch) == "cfvit";
  for (uint32_t force : kForces) {
    if (!cfvit && force != TRIAGE_FORCE_NONE) continue;
    SCOPED_TRACE(testing::Message() << what << " " << force_name(force));
    Cpu cpu(bytes, force);
    Gpu gpu(bytes, force, 8);
    double worst = 0;
    size_t ties = 0, near = 0, routes_differ = 0;
    for (size_t i0 = 0; i0 < views.size(); i0 += 8) {
      const std::vector<triage_image> chunk(views.begin() + i0, views.begin() + std::min(views.size(), i0 + 8));
      const std::vector<triage_result> g = gpu.run(chunk);
      for (size_t j = 0; j < chunk.size(); ++j) {
        bool near_threshold = false;
        if (force == TRIAGE_FORCE_NONE && cfvit)
          near_threshold = threshold_distance(coarse.run(chunk[j]).probabilities, info) < kThresholdMargin;
        near += near_threshold;
        const triage_result a = cpu.run(chunk[j]);
        const triage_result& b = g[j];
        if (a.route != b.route) {
          ++routes_differ;
          EXPECT_TRUE(near_threshold) << "image " << i0 + j << ": route cpu " << a.route << " gpu " << b.route;
          continue;  // different passes: logits not comparable
        }
        EXPECT_EQ(a.tokens, b.tokens);
        const double e = rel_error(centred_log(b.probabilities, n), centred_log(a.probabilities, n));
        worst = std::max(worst, e);
        EXPECT_LT(e, tol) << "image " << i0 + j;
        const bool tie = margin(a.probabilities, n) < kTieMargin;
        ties += tie;
        if (!tie) {
          EXPECT_EQ(a.class_index, b.class_index) << "image " << i0 + j;
        }
      }
    }
    std::printf("[ %s %-8s ] gpu vs cpu worst centred-logit error %.3g (%zu images, %zu near ties, %zu near a "
                "threshold, %zu routes differ)\n",
                what, force_name(force), worst, views.size(), ties, near, routes_differ);
  }
}

std::vector<TestImage> random_images(int count, uint64_t seed, int C) {
  std::vector<TestImage> v;
  const uint32_t sizes[][2] = {{64, 64}, {100, 80}, {37, 53}, {256, 256}, {64, 64}, {500, 300}};
  for (int i = 0; i < count; ++i)
    v.push_back(make_random_image(seed + i, sizes[i % 6][0], sizes[i % 6][1], C, i % 2 == 1));
  return v;
}
std::vector<triage_image> views_of(const std::vector<TestImage>& t) {
  std::vector<triage_image> v;
  for (const TestImage& x : t) v.push_back(view(x));
  return v;
}

RandomModelSpec spec32(const char* dtype) {
  RandomModelSpec s;
  s.H = 2;  // head_dim 32
  s.dtype = dtype;
  return s;
}

class CudaEngine : public ::testing::Test {
 protected:
  void SetUp() override { TRIAGE_REQUIRE_CUDA(); }
};

TEST_F(CudaEngine, RandomModelsMatchCpuEngine) {
  const std::vector<TestImage> imgs = random_images(12, 50, 1);
  const std::vector<triage_image> v = views_of(imgs);
  for (const char* dtype : {"f32", "q8", "bf16"}) {
    const RandomModelSpec s = spec32(dtype);
    compare_with_cpu(mixed_route_model(s, imgs), v, std::string(dtype) == "q8" ? kTolQ8 : kTolF32,
                     (std::string("cfvit-") + dtype).c_str());
  }
  // Token skipping in both passes (kernels skip_tokens / unskip_tokens, ranking by position, carried /
  // fused fine tokens).
  for (const char* dtype : {"f32", "q8"}) {
    RandomModelSpec s = spec32(dtype);
    s.meta_i64 = {{"arch.keep_coarse", 6}, {"arch.skip_layer", 1}, {"arch.keep_fine", 2}};
    compare_with_cpu(mixed_route_model(s, imgs), v, std::string(dtype) == "q8" ? kTolQ8 : kTolF32,
                     (std::string("cfvit-skip-") + dtype).c_str());
  }
  RandomModelSpec vt = spec32("q8");
  vt.arch = "vit";
  vt.Sf = 48;
  compare_with_cpu(make_random_model(vt), v, kTolQ8, "vit-q8");
  vt.dtype = "f32";
  compare_with_cpu(make_random_model(vt), v, kTolF32, "vit-f32");
}

TEST_F(CudaEngine, ThreeChannelModel) {
  RandomModelSpec s = spec32("q8");
  s.C = 3;
  s.Sf = 96;
  s.P = 16;
  s.D = 64;
  s.K = 2;
  s.R = 1;
  s.Dr = 32;
  s.ncls = 3;
  s.good = 2;
  s.seed = 9;
  const std::vector<TestImage> imgs = random_images(8, 70, 3);
  compare_with_cpu(mixed_route_model(s, imgs), views_of(imgs), kTolQ8, "cfvit-c3-q8");
}

TEST_F(CudaEngine, OneImageGivesTheSameBitsInAnyBatchRunGraphOrInputPath) {
  const std::vector<TestImage> imgs = random_images(7, 90, 1);
  const std::vector<triage_image> v = views_of(imgs);
  for (const char* dtype : {"q8", "f32"}) {
    const std::vector<uint8_t> bytes = mixed_route_model(spec32(dtype), imgs);
    const int ncls = spec32(dtype).ncls;
    for (uint32_t force : {TRIAGE_FORCE_NONE, TRIAGE_FORCE_FINE}) {
      SCOPED_TRACE(testing::Message() << dtype << " " << force_name(force));
      Gpu g(bytes, force, 8);
      // Each image alone (bucket 1), then all 7 (bucket 8), then again.
      std::vector<Snap> alone;
      for (const triage_image& x : v) {
        const std::vector<Snap> s = snap(g.run({x}), ncls);
        alone.push_back(s[0]);
      }
      const std::vector<Snap> all = snap(g.run(v), ncls);
      const std::vector<Snap> again = snap(g.run(v), ncls);
      EXPECT_TRUE(same(alone, all)) << "batch composition changed a result";
      EXPECT_TRUE(same(all, again)) << "a second run changed a result";
      // Subsets of 3 (bucket 4) in another order.
      const std::vector<triage_image> sub = {v[5], v[0], v[3]};
      const std::vector<Snap> s3 = snap(g.run(sub), ncls);
      EXPECT_TRUE(same(s3, {alone[5], alone[0], alone[3]}));
      // Direct launches instead of graphs.
      Gpu ng(bytes, force, 8, TRIAGE_CUDA_NO_GRAPHS);
      EXPECT_TRUE(same(snap(ng.run(v), ncls), all)) << "graphs and direct launches differ";
      // The caller's stream.
      cudaStream_t st = nullptr;
      ASSERT_EQ(cudaStreamCreate(&st), cudaSuccess);
      {
        Gpu us(bytes, force, 8, 0, st);
        EXPECT_TRUE(same(snap(us.run(v), ncls), all)) << "the caller's stream changed a result";
      }
      ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
      // Device input: the same pixels in device memory.
      std::vector<void*> dptr;
      std::vector<triage_image> dv = v;
      for (size_t i = 0; i < v.size(); ++i) {
        const size_t bytes_i = v[i].row_stride * v[i].height;
        void* p = nullptr;
        ASSERT_EQ(cudaMalloc(&p, bytes_i), cudaSuccess);
        ASSERT_EQ(cudaMemcpy(p, v[i].data, bytes_i, cudaMemcpyHostToDevice), cudaSuccess);
        dptr.push_back(p);
        dv[i].data = p;
      }
      EXPECT_TRUE(same(snap(g.run(dv, true), ncls), all)) << "device input differs from host input";
      for (void* p : dptr) cudaFree(p);
      triage_cuda_info info;
      info.struct_size = sizeof(info);
      ASSERT_EQ(triage_cuda_get_device_info(g.m, &info), TRIAGE_OK);
      EXPECT_EQ(info.buckets, 4u);
      EXPECT_EQ(info.graphs, 8u);
      std::printf("  %s on %s (sm_%d%d): %llu weight bytes, %llu activation bytes, %u graphs, %llu route re-runs\n",
                  dtype, info.device_name, info.cc_major, info.cc_minor, (unsigned long long)info.weight_bytes,
                  (unsigned long long)info.activation_bytes, info.graphs, (unsigned long long)info.route_reruns);
    }
  }
}

TEST_F(CudaEngine, MisuseIsReportedNotCrashed) {
  const std::vector<TestImage> imgs = random_images(3, 110, 1);
  std::vector<triage_image> v = views_of(imgs);
  const std::vector<uint8_t> bytes = make_random_model(spec32("q8"));
  Gpu g(bytes, TRIAGE_FORCE_NONE, 2, 0, nullptr, 64 * 64);
  std::vector<triage_result> r(3);
  EXPECT_EQ(triage_cuda_classify_batch(g.m, v.data(), 3, r.data()), TRIAGE_E_LIMIT);  // > max_batch
  EXPECT_NE(std::string(triage_cuda_last_error(g.m)).find("max_batch"), std::string::npos);
  EXPECT_EQ(triage_cuda_classify_batch(g.m, v.data(), 0, r.data()), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_cuda_classify_batch(g.m, &v[1], 1, r.data()), TRIAGE_E_LIMIT);  // 100 x 80 u16 > 4096 bytes
  EXPECT_EQ(triage_cuda_classify_batch_device(g.m, &v[0], 1, r.data()), TRIAGE_E_INVALID_ARGUMENT);  // host pointer
  triage_image bad = v[0];
  bad.channels = 2;
  EXPECT_EQ(triage_cuda_classify(g.m, &bad, r.data()), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_cuda_classify(g.m, &v[0], r.data()), TRIAGE_OK) << triage_cuda_last_error(g.m);  // still usable
  EXPECT_STREQ(triage_cuda_last_error(g.m), "");
  Gpu dev_only(bytes, TRIAGE_FORCE_NONE, 1, 0, nullptr, 0);
  EXPECT_EQ(triage_cuda_classify(dev_only.m, &v[0], r.data()), TRIAGE_E_INVALID_ARGUMENT);
  triage_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(triage_cuda_get_info(g.m, &info), TRIAGE_OK);
  EXPECT_STREQ(info.isa, "cuda");
  EXPECT_EQ(info.max_batch, 2u);
  EXPECT_GT(info.arena_bytes, 0u);
  EXPECT_GT(info.weight_bytes, 0u);
  triage_cuda_options o;
  triage_cuda_options_init(&o);
  o.device = 1000;
  triage_cuda_model* m = nullptr;
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
}

// ---------------------------------------------------------------------------------------------
// The shipped models on their golden images (and samples), q8 and f32 files.
class CudaShipped : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { TRIAGE_REQUIRE_CUDA(); }
};

TEST_P(CudaShipped, MatchesCpuEngineOnGoldens) {
  const ShippedModel sm = shipped(GetParam());
  if (!sm.present()) GTEST_SKIP() << "models/" << sm.name << " does not exist yet";
  Safetensors g;
  std::string err;
  ASSERT_TRUE(g.read(sm.dir + "/goldens.safetensors", err)) << err;
  std::set<std::string> uniq;
  for (const std::string& p : sm.golden_paths(g)) uniq.insert(p);
  for (const std::string& p : sm.sample_paths()) uniq.insert(p);
  std::vector<cli::Image> imgs;
  for (const std::string& p : uniq) {
    imgs.emplace_back();
    ASSERT_TRUE(cli::read_image(p, imgs.back(), err)) << p << ": " << err;
  }
  std::vector<triage_image> v;
  for (const cli::Image& i : imgs) v.push_back(i.view());
  for (const char* dtype : {"q8", "f32"}) {
    const std::vector<uint8_t> bytes = sm.read_trw(dtype);
    ASSERT_FALSE(bytes.empty()) << "missing " << sm.trw(dtype);
    compare_with_cpu(bytes, v, std::string(dtype) == "q8" ? kTolQ8 : kTolF32, (sm.name + "-" + dtype).c_str());
  }
}

TEST_P(CudaShipped, F32FileNearPyTorchGoldens) {
  const ShippedModel sm = shipped(GetParam());
  if (!sm.present()) GTEST_SKIP() << "models/" << sm.name << " does not exist yet";
  Safetensors g;
  std::string err;
  ASSERT_TRUE(g.read(sm.dir + "/goldens.safetensors", err)) << err;
  const std::vector<std::string> paths = sm.golden_paths(g);
  const std::vector<uint8_t> bytes = sm.read_trw("f32");
  ASSERT_FALSE(bytes.empty()) << "missing " << sm.trw("f32");
  struct P {
    uint32_t force;
    const char* golden;
  };
  for (const P& p : {P{TRIAGE_FORCE_COARSE, "coarse_logits"}, P{TRIAGE_FORCE_FINE, "fine_logits"},
                     P{TRIAGE_FORCE_FINE_ALL, "fine_all_logits"}}) {
    ASSERT_TRUE(g.tensors.count(p.golden));
    const StTensor& t = g.tensors.at(p.golden);
    const size_t ncls = t.f.size() / static_cast<size_t>(t.shape[0]);
    Gpu gpu(bytes, p.force, 1);
    double worst = 0;
    for (size_t b = 0; b < paths.size(); ++b) {
      cli::Image img;
      ASSERT_TRUE(cli::read_image(paths[b], img, err)) << err;
      const std::vector<triage_result> r = gpu.run({img.view()});
      const std::vector<float> want(t.f.begin() + b * ncls, t.f.begin() + (b + 1) * ncls);
      const double e = rel_error(centred_log(r[0].probabilities, static_cast<int>(ncls)), centred(want));
      worst = std::max(worst, e);
      // bf16 compute; a near-tied patch ranking may also select other fine regions than PyTorch did.
      EXPECT_LT(e, 0.1) << p.golden << " sample " << b;
    }
    std::printf("[ %s ] gpu (f32 file, bf16 compute) vs PyTorch %-16s worst centred-logit error %.3g\n",
                sm.name.c_str(), p.golden, worst);
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, CudaShipped, ::testing::ValuesIn(shipped_models()), [](const auto& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

}  // namespace
}  // namespace triage::test
