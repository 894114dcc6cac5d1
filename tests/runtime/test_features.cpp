// triage_get_features: the final-norm CLS features of each pass, checked against the probabilities the
// engine returns (an f32 model's head applied to the features in double must give the same softmax), for
// batches, forced routes, both architectures, and its argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "tests/runtime/test_util.h"
#include "weights_format/trw.h"

namespace triage::test {
namespace {

struct HeadF32 {
  std::vector<float> w, b;
  int k = 0, d = 0;
};

HeadF32 head_of(const std::vector<uint8_t>& bytes) {
  trw::Buffer buf;
  trw::Error err;
  trw::File f;
  EXPECT_TRUE(buf.assign(bytes, err) && f.parse(buf.span(), err)) << err.message;
  const trw::TensorView* w = f.find_tensor("head.weight");
  const trw::TensorView* b = f.find_tensor("head.bias");
  HeadF32 h;
  h.k = static_cast<int>(w->dims[0]);
  h.d = static_cast<int>(w->dims[1]);
  h.w.resize(w->numel);
  h.b.resize(b->numel);
  std::memcpy(h.w.data(), w->data, 4 * w->numel);
  std::memcpy(h.b.data(), b->data, 4 * b->numel);
  return h;
}

// softmax(W f + b) in double.
std::vector<double> probs_of(const HeadF32& h, const std::vector<float>& f) {
  std::vector<double> a(h.k);
  double mx = -1e300;
  for (int c = 0; c < h.k; ++c) {
    double v = h.b[c];
    for (int j = 0; j < h.d; ++j) v += double(h.w[size_t(c) * h.d + j]) * f[j];
    a[c] = v;
    mx = std::max(mx, v);
  }
  double s = 0;
  for (double& v : a) s += (v = std::exp(v - mx));
  for (double& v : a) v /= s;
  return a;
}

struct Model {
  triage_model* m = nullptr;
  ~Model() { triage_close(m); }
};

// Tolerance: the engine's head runs the LayerNorm and GEMM in f32 with its own summation order; the
// features are the same LayerNorm computed in double then rounded to f32. Differences of a few f32 ulps
// in D = 64 terms move probabilities by ~1e-6; 1e-4 leaves margin and still fails on a wrong row.
constexpr double kTol = 1e-4;

// n random images (seed0 + i, sizes h0 + dh i by w0 + dw i; 16-bit where i % k16 == r16, none for k16 0)
// and their views.
struct Images {
  std::vector<TestImage> imgs;
  std::vector<triage_image> views;
};
Images random_images(int n, uint32_t seed0, int h0, int dh, int w0, int dw, int C, int k16, int r16) {
  Images r;
  for (int i = 0; i < n; ++i)
    r.imgs.push_back(make_random_image(seed0 + i, h0 + dh * i, w0 + dw * i, C, k16 > 0 && i % k16 == r16));
  for (const TestImage& t : r.imgs) r.views.push_back(view(t));
  return r;
}

void check_batch(const RandomModelSpec& spec, uint32_t force, int n) {
  const std::vector<uint8_t> bytes = make_random_model(spec);
  const HeadF32 h = head_of(bytes);
  Model mod;
  const triage_options o = options(2, static_cast<uint32_t>(n), force);
  ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &mod.m), TRIAGE_OK) << triage_open_error();
  triage_model_info info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(triage_get_info(mod.m, &info), TRIAGE_OK);
  ASSERT_EQ(info.embed_dim, static_cast<uint32_t>(spec.D));
  const Images im = random_images(n, 100, 40, 7, 50, 3, spec.C, 2, 1);
  std::vector<triage_result> res(n);
  ASSERT_EQ(triage_classify_batch(mod.m, im.views.data(), n, res.data()), TRIAGE_OK);
  std::vector<float> f(spec.D);
  for (int i = 0; i < n; ++i) {
    const uint32_t route = res[i].route;
    ASSERT_EQ(triage_get_features(mod.m, i, route, f.data(), f.size()), TRIAGE_OK) << triage_last_error(mod.m);
    const std::vector<double> p = probs_of(h, f);
    for (int c = 0; c < h.k; ++c) EXPECT_NEAR(p[c], res[i].probabilities[c], kTol) << "image " << i << " class " << c;
    if (spec.arch == "cfvit" && route == TRIAGE_ROUTE_FINE) {
      // The coarse features exist too, and differ from the fine ones.
      std::vector<float> fc(spec.D);
      ASSERT_EQ(triage_get_features(mod.m, i, TRIAGE_ROUTE_COARSE, fc.data(), fc.size()), TRIAGE_OK);
      EXPECT_NE(std::memcmp(fc.data(), f.data(), 4 * f.size()), 0);
    }
    if (spec.arch == "vit" || route == TRIAGE_ROUTE_COARSE) {
      const uint32_t other = spec.arch == "vit" ? TRIAGE_ROUTE_COARSE : TRIAGE_ROUTE_FINE;
      EXPECT_EQ(triage_get_features(mod.m, i, other, f.data(), f.size()), TRIAGE_E_UNSUPPORTED);
    }
  }
}

TEST(Features, FinePassOfAForcedFineBatchGivesTheReturnedProbabilities) {
  RandomModelSpec s;
  s.seed = 7;
  check_batch(s, TRIAGE_FORCE_FINE, 3);
}

TEST(Features, CoarsePassOfAForcedCoarseBatch) {
  RandomModelSpec s;
  s.seed = 8;
  s.C = 3;
  check_batch(s, TRIAGE_FORCE_COARSE, 4);
}

TEST(Features, FineAllAndVit) {
  RandomModelSpec s;
  s.seed = 9;
  check_batch(s, TRIAGE_FORCE_FINE_ALL, 2);
  RandomModelSpec v;
  v.arch = "vit";
  v.seed = 10;
  check_batch(v, TRIAGE_FORCE_NONE, 2);
}

// A batch above the engine's chunk (8 images: engine.h kChunkImages) runs in chunks; the per-image state
// each chunk leaves (features, OOD scores, probabilities) must be that image's, at its index in the call.
TEST(Features, BatchesRunInChunksKeepEveryImagesState) {
  for (const char* arch : {"cfvit", "vit"}) {
    RandomModelSpec s;
    s.arch = arch;
    s.seed = 21;
    check_batch(s, TRIAGE_FORCE_NONE, 19);
    const std::vector<uint8_t> bytes = make_random_model(s);
    const int n = 19;
    Model batch, single;
    const triage_options ob = options(2, n, TRIAGE_FORCE_NONE), o1 = options(2, 1, TRIAGE_FORCE_NONE);
    ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &ob, &batch.m), TRIAGE_OK) << triage_open_error();
    ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o1, &single.m), TRIAGE_OK) << triage_open_error();
    const Images im = random_images(n, 300, 33, 5, 41, 2, s.C, 3, 0);
    const std::vector<triage_image>& views = im.views;
    std::vector<triage_result> res(n);
    ASSERT_EQ(triage_classify_batch(batch.m, views.data(), n, res.data()), TRIAGE_OK);
    std::vector<float> o1_scores(TRIAGE_OOD_SCORES), f1(s.D);
    std::vector<std::vector<float>> feats(n, std::vector<float>(s.D));
    std::vector<std::vector<float>> oods(n, std::vector<float>(TRIAGE_OOD_SCORES));
    for (int i = 0; i < n; ++i) {  // read every image's state of the batch call first
      ASSERT_EQ(triage_get_features(batch.m, i, res[i].route, feats[i].data(), feats[i].size()), TRIAGE_OK);
      ASSERT_EQ(triage_get_ood_scores(batch.m, i, oods[i].data(), TRIAGE_OOD_SCORES), TRIAGE_OK);
    }
    for (int i = 0; i < n; ++i) {
      triage_result r1;
      ASSERT_EQ(triage_classify(single.m, &views[i], &r1), TRIAGE_OK);
      EXPECT_EQ(r1.route, res[i].route) << arch << " image " << i;
      EXPECT_EQ(r1.class_index, res[i].class_index) << arch << " image " << i;
      EXPECT_EQ(0, std::memcmp(r1.probabilities, res[i].probabilities, sizeof(float) * s.ncls)) << arch << " image " << i;
      ASSERT_EQ(triage_get_features(single.m, 0, r1.route, f1.data(), f1.size()), TRIAGE_OK);
      EXPECT_EQ(0, std::memcmp(f1.data(), feats[i].data(), 4 * f1.size())) << arch << " features of image " << i;
      ASSERT_EQ(triage_get_ood_scores(single.m, 0, o1_scores.data(), TRIAGE_OOD_SCORES), TRIAGE_OK);
      EXPECT_EQ(0, std::memcmp(o1_scores.data(), oods[i].data(), 4 * o1_scores.size())) << arch << " OOD scores of image " << i;
    }
  }
}

// The activation arena is planned for one chunk: beyond 8 images max_batch grows the arena memory only
// by each image's result rows (probabilities, scores, features: well under 2 KB an image here), and a
// batch of 19 classifies in caller memory of that size.
TEST(Features, ArenaStopsGrowingAtTheChunk) {
  RandomModelSpec s;
  s.seed = 22;
  const std::vector<uint8_t> bytes = make_random_model(s);
  size_t a1 = 0, a8 = 0, a19 = 0, a200 = 0;
  triage_options o = options(2, 1, TRIAGE_FORCE_NONE);
  ASSERT_EQ(triage_arena_size(bytes.data(), bytes.size(), &o, &a1), TRIAGE_OK);
  o.max_batch = 8;
  ASSERT_EQ(triage_arena_size(bytes.data(), bytes.size(), &o, &a8), TRIAGE_OK);
  o.max_batch = 19;
  ASSERT_EQ(triage_arena_size(bytes.data(), bytes.size(), &o, &a19), TRIAGE_OK);
  o.max_batch = 200;
  ASSERT_EQ(triage_arena_size(bytes.data(), bytes.size(), &o, &a200), TRIAGE_OK);
  EXPECT_LT(a1, a8);
  EXPECT_LE(a8, a19);
  EXPECT_LE(a19 - a8, 11u * 2048) << "11 more images' rows";
  EXPECT_LE(a200 - a8, 192u * 2048) << "192 more images' rows";
  std::vector<unsigned char> mem(a19 + 64);
  o.max_batch = 19;
  o.arena = mem.data() + (64 - reinterpret_cast<uintptr_t>(mem.data()) % 64) % 64;
  o.arena_size = a19;
  Model mod;
  ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &mod.m), TRIAGE_OK) << triage_open_error();
  const Images im = random_images(19, 400, 30, 1, 37, 2, s.C, 0, 0);
  std::vector<triage_result> res(19);
  EXPECT_EQ(triage_classify_batch(mod.m, im.views.data(), im.views.size(), res.data()), TRIAGE_OK) << triage_last_error(mod.m);
}

TEST(Features, ArgumentErrors) {
  RandomModelSpec s;
  const std::vector<uint8_t> bytes = make_random_model(s);
  Model mod;
  const triage_options o = options(1, 2, TRIAGE_FORCE_FINE);
  ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &mod.m), TRIAGE_OK);
  std::vector<float> f(s.D);
  // Nothing classified yet.
  EXPECT_EQ(triage_get_features(mod.m, 0, TRIAGE_ROUTE_COARSE, f.data(), f.size()), TRIAGE_E_INVALID_ARGUMENT);
  const TestImage t = make_random_image(3, 30, 30, 1, false);
  const triage_image v = view(t);
  triage_result r;
  ASSERT_EQ(triage_classify(mod.m, &v, &r), TRIAGE_OK);
  EXPECT_EQ(triage_get_features(mod.m, 0, TRIAGE_ROUTE_FINE, f.data(), f.size()), TRIAGE_OK);
  EXPECT_EQ(triage_get_features(mod.m, 1, TRIAGE_ROUTE_FINE, f.data(), f.size()), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_get_features(mod.m, 0, 2, f.data(), f.size()), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_get_features(mod.m, 0, TRIAGE_ROUTE_FINE, f.data(), f.size() - 1), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_get_features(mod.m, 0, TRIAGE_ROUTE_FINE, nullptr, f.size()), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_get_features(nullptr, 0, TRIAGE_ROUTE_FINE, f.data(), f.size()), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_STRNE(triage_last_error(mod.m), "");
}

}  // namespace
}  // namespace triage::test
