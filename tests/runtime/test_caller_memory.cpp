// Caller memory for the packed weights (issue 14): triage_weights_size sizes them exactly as an open
// packs them (triage_model_info.weight_bytes), an open into caller memory decides the same bits as one
// into owned storage, never writes the caller's weights after open, and refuses memory that is too
// small or misaligned; with weights and arena both the caller's, the large allocations are gone from the
// heap (what an open still allocates is counted and bounded here, and listed in the closing note).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "tests/runtime/alloc_counter.h"
#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

struct AlignedMem {
  explicit AlignedMem(size_t n) : size(n), p(static_cast<unsigned char*>(std::aligned_alloc(64, (n + 64) & ~size_t(63)))) {
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(i * 131 + 7);  // garbage, never zeros
  }
  ~AlignedMem() { std::free(p); }
  size_t size;
  unsigned char* p;
};

uint64_t checksum(const unsigned char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::vector<std::vector<float>> classify_all(triage_model* m, const std::vector<TestImage>& imgs, int ncls) {
  std::vector<std::vector<float>> out;
  for (const TestImage& t : imgs) {
    const triage_image v = view(t);
    triage_result r{};
    EXPECT_EQ(triage_classify(m, &v, &r), TRIAGE_OK) << triage_last_error(m);
    out.emplace_back(r.probabilities, r.probabilities + ncls);
    out.back().push_back(static_cast<float>(r.route));
  }
  return out;
}

TEST(CallerMemory, WeightsSizeIsWhatAnOpenPacks) {
  for (const char* dtype : {"f32", "q8"}) {
    RandomModelSpec spec;
    spec.dtype = dtype;
    const std::vector<uint8_t> model = make_random_model(spec);
    for (uint32_t isa : {uint32_t(TRIAGE_ISA_SCALAR), uint32_t(TRIAGE_ISA_AUTO)}) {
      triage_options o = options(1, 1, TRIAGE_FORCE_NONE);
      o.isa_cap = isa;
      size_t bytes = 0;
      ASSERT_EQ(triage_weights_size(model.data(), model.size(), &o, &bytes), TRIAGE_OK) << triage_open_error();
      EXPECT_EQ(bytes % 64, 0u);
      triage_model* m = nullptr;
      ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_OK);
      triage_model_info info{};
      info.struct_size = sizeof info;
      triage_get_info(m, &info);
      EXPECT_EQ(info.weight_bytes, bytes) << dtype << " isa " << isa;
      triage_close(m);
    }
  }
}

TEST(CallerMemory, SameBitsAndTheCallersWeightsAreNeverWrittenAfterOpen) {
  RandomModelSpec spec;
  spec.dtype = "q8";
  std::vector<TestImage> imgs;
  for (int i = 0; i < 6; ++i) imgs.push_back(make_random_image(40 + i, 30 + 11 * i, 70 - 5 * i, 1, i % 2 == 1));
  const std::vector<uint8_t> model = make_random_model(spec);
  for (uint32_t force : {uint32_t(TRIAGE_FORCE_NONE), uint32_t(TRIAGE_FORCE_FINE)}) {
    triage_options o = options(2, 1, force);
    triage_model* owned = nullptr;
    ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &owned), TRIAGE_OK);
    const auto want = classify_all(owned, imgs, spec.ncls);
    triage_close(owned);

    size_t wbytes = 0, abytes = 0;
    ASSERT_EQ(triage_weights_size(model.data(), model.size(), &o, &wbytes), TRIAGE_OK);
    ASSERT_EQ(triage_arena_size(model.data(), model.size(), &o, &abytes), TRIAGE_OK);
    AlignedMem weights(wbytes), arena(abytes);
    std::vector<uint8_t> file = model;  // freed (overwritten) after open: the handle keeps nothing of it
    o.weights = weights.p;
    o.weights_size = weights.size;
    o.arena = arena.p;
    o.arena_size = arena.size;
    triage_model* m = nullptr;
    ASSERT_EQ(triage_open_memory(file.data(), file.size(), &o, &m), TRIAGE_OK) << triage_open_error();
    std::memset(file.data(), 0xCD, file.size());
    const uint64_t sum = checksum(weights.p, weights.size);
    EXPECT_EQ(classify_all(m, imgs, spec.ncls), want) << "force " << force;
    EXPECT_EQ(classify_all(m, imgs, spec.ncls), want) << "force " << force;
    EXPECT_EQ(checksum(weights.p, weights.size), sum) << "the engine wrote the caller's weights after open";
    triage_model_info info{};
    info.struct_size = sizeof info;
    triage_get_info(m, &info);
    EXPECT_EQ(info.weight_bytes, wbytes);
    triage_close(m);
  }
}

TEST(CallerMemory, TooSmallMisalignedOrSizeWithoutPointerIsRefused) {
  const std::vector<uint8_t> model = make_random_model(RandomModelSpec{});
  triage_options o = options(1, 1, TRIAGE_FORCE_NONE);
  size_t wbytes = 0;
  ASSERT_EQ(triage_weights_size(model.data(), model.size(), &o, &wbytes), TRIAGE_OK);
  AlignedMem weights(wbytes + 128);
  triage_model* m = nullptr;
  o.weights = weights.p;
  o.weights_size = wbytes - 64;
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_E_NOMEM);
  EXPECT_NE(std::strstr(triage_open_error(), "options.weights_size"), nullptr) << triage_open_error();
  EXPECT_EQ(m, nullptr);
  o.weights = weights.p + 32;
  o.weights_size = wbytes;
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(triage_open_error(), "64-byte aligned"), nullptr) << triage_open_error();
  o.weights = nullptr;
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_E_INVALID_ARGUMENT);
  o.weights = weights.p;
  o.weights_size = wbytes;  // exactly enough
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_OK) << triage_open_error();
  triage_close(m);
  size_t out = 1;
  EXPECT_EQ(triage_weights_size(nullptr, 10, &o, &out), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_weights_size(model.data(), model.size(), &o, nullptr), TRIAGE_E_INVALID_ARGUMENT);
}

// With weights and arena in caller memory the heap sees none of either: the bytes an open takes from the
// heap drop by at least weights + arena, no single heap block is as large as the packed weights, and
// classifying and closing allocate nothing. What remains (the handle, the parsed tables, class names,
// per-batch result rows, transient conversion buffers) is printed for the record.
TEST(CallerMemory, WeightsAndArenaNeverTouchTheHeap) {
  RandomModelSpec spec;
  spec.dtype = "q8";
  spec.D = 96;
  spec.L = 4;
  const std::vector<uint8_t> model = make_random_model(spec);
  const TestImage img = make_random_image(5, 64, 64, 1, false);
  const triage_image v = view(img);
  triage_options o = options(1, 2, TRIAGE_FORCE_FINE);
  size_t wbytes = 0, abytes = 0;
  ASSERT_EQ(triage_weights_size(model.data(), model.size(), &o, &wbytes), TRIAGE_OK);
  ASSERT_EQ(triage_arena_size(model.data(), model.size(), &o, &abytes), TRIAGE_OK);
  AlignedMem weights(wbytes), arena(abytes);

  struct Heap {
    uint64_t count, bytes, largest;
  };
  auto open_measured = [&](bool caller, triage_model** m) {
    triage_options oo = o;
    if (caller) {
      oo.weights = weights.p;
      oo.weights_size = weights.size;
      oo.arena = arena.p;
      oo.arena_size = arena.size;
    }
    alloc_counting(true);
    const triage_status st = triage_open_memory(model.data(), model.size(), &oo, m);
    alloc_counting(false);
    EXPECT_EQ(st, TRIAGE_OK) << triage_open_error();
    return Heap{alloc_count(), alloc_bytes(), alloc_largest()};
  };
  triage_model *owned = nullptr, *m = nullptr;
  const Heap a = open_measured(false, &owned);
  const Heap b = open_measured(true, &m);
  triage_close(owned);
  std::printf("open, owned memory:  %llu heap allocations, %llu bytes, largest %llu\n"
              "open, caller memory: %llu heap allocations, %llu bytes, largest %llu (weights %zu, arena %zu bytes)\n",
              (unsigned long long)a.count, (unsigned long long)a.bytes, (unsigned long long)a.largest,
              (unsigned long long)b.count, (unsigned long long)b.bytes, (unsigned long long)b.largest, wbytes, abytes);
  EXPECT_LE(b.bytes + wbytes + abytes, a.bytes);
  EXPECT_LT(b.largest, wbytes);
  triage_result r[1];
  alloc_counting(true);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(triage_classify(m, &v, r), TRIAGE_OK);
  triage_close(m);
  alloc_counting(false);
  EXPECT_EQ(alloc_count(), 0u) << "classify / close allocated";
}

}  // namespace
}  // namespace triage::test
