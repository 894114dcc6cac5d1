// Caller memory for the packed weights (issue 14): triage_weights_size sizes them exactly as an open
// packs them (triage_model_info.weight_bytes), an open into caller memory decides the same bits as one
// into owned storage, never writes the caller's weights after open, and refuses memory that is too
// small or misaligned; with weights and arena both the caller's, the heap is not touched at all.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
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

    std::vector<uint8_t> file = model;  // freed (overwritten) after open: the handle keeps nothing of it
    size_t wbytes = 0, abytes = 0;  // sized with the bytes the open gets (their alignment matters)
    ASSERT_EQ(triage_weights_size(file.data(), file.size(), &o, &wbytes), TRIAGE_OK);
    ASSERT_EQ(triage_arena_size(file.data(), file.size(), &o, &abytes), TRIAGE_OK);
    AlignedMem weights(wbytes), arena(abytes);
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

// With weights and arena in caller memory (and one thread: a worker thread's start-up is the C
// library's allocation), open, classify and close make no heap allocation at all, whether the model
// bytes are 64-byte aligned or not (then their aligned copy lives in the arena during the open), for
// f32 and q8 files; and an owned open takes from the heap about what the caller would have given.
TEST(CallerMemory, WeightsAndArenaNeverTouchTheHeap) {
  for (const char* dtype : {"q8", "f32"}) {
    RandomModelSpec spec;
    spec.dtype = dtype;
    spec.D = 96;
    spec.L = 4;
    const std::vector<uint8_t> vec = make_random_model(spec);
    AlignedMem aligned(vec.size());
    std::memcpy(aligned.p, vec.data(), vec.size());
    const TestImage img = make_random_image(5, 64, 64, 1, false);
    const triage_image v = view(img);
    for (bool is_aligned : {true, false}) {
      // An unaligned span: one byte into a copy.
      std::vector<uint8_t> shifted(vec.size() + 1);
      std::memcpy(shifted.data() + 1, vec.data(), vec.size());
      const uint8_t* bytes = is_aligned ? aligned.p : shifted.data() + 1;
      SCOPED_TRACE(std::string(dtype) + (is_aligned ? ", aligned bytes" : ", unaligned bytes"));
      triage_options o = options(1, 2, TRIAGE_FORCE_FINE);
      size_t wbytes = 0, abytes = 0;
      ASSERT_EQ(triage_weights_size(bytes, vec.size(), &o, &wbytes), TRIAGE_OK);
      ASSERT_EQ(triage_arena_size(bytes, vec.size(), &o, &abytes), TRIAGE_OK);
      if (!is_aligned) {
        EXPECT_GT(abytes, vec.size()) << "the aligned copy lives in the arena";
      }
      AlignedMem weights(wbytes), arena(abytes);
      triage_options oo = o;
      oo.weights = weights.p;
      oo.weights_size = weights.size;
      oo.arena = arena.p;
      oo.arena_size = arena.size;
      triage_model* m = nullptr;
      alloc_counting(true);
      const triage_status st = triage_open_memory(bytes, vec.size(), &oo, &m);
      alloc_counting(false);
      ASSERT_EQ(st, TRIAGE_OK) << triage_open_error();
      EXPECT_EQ(alloc_count(), 0u) << "open allocated " << alloc_bytes() << " bytes";
      triage_model_info info{};
      info.struct_size = sizeof info;
      ASSERT_EQ(triage_get_info(m, &info), TRIAGE_OK);
      EXPECT_EQ(info.arena_bytes, abytes);
      EXPECT_EQ(info.weight_bytes, wbytes);
      triage_result r[1];
      alloc_counting(true);
      for (int i = 0; i < 20; ++i) ASSERT_EQ(triage_classify(m, &v, r), TRIAGE_OK);
      triage_close(m);
      alloc_counting(false);
      EXPECT_EQ(alloc_count(), 0u) << "classify / close allocated";

      // The owned open: the heap gives what the caller gave (the weights, the handle, rows and the
      // activations), and the scratch besides, freed before the open returns.
      alloc_counting(true);
      ASSERT_EQ(triage_open_memory(bytes, vec.size(), &o, &m), TRIAGE_OK);
      alloc_counting(false);
      EXPECT_GE(alloc_bytes(), wbytes) << "owned open";
      std::printf("%s, %s bytes: weights %zu, arena %zu; owned open: %llu heap allocations, %llu bytes\n", dtype,
                  is_aligned ? "aligned" : "unaligned", wbytes, abytes, (unsigned long long)alloc_count(),
                  (unsigned long long)alloc_bytes());
      triage_close(m);
    }
  }
}

// Caller memory one byte short anywhere is NOMEM with a message naming the caller's memory, never a
// write past its end: the arena and weights each exactly one byte short of their sizes, with a guard
// pattern after them that must survive.
TEST(CallerMemory, OneByteShortIsNomem) {
  RandomModelSpec spec;
  spec.dtype = "q8";
  const std::vector<uint8_t> model = make_random_model(spec);
  triage_options o = options(1, 2, TRIAGE_FORCE_NONE);
  size_t wbytes = 0, abytes = 0;
  ASSERT_EQ(triage_weights_size(model.data(), model.size(), &o, &wbytes), TRIAGE_OK);
  ASSERT_EQ(triage_arena_size(model.data(), model.size(), &o, &abytes), TRIAGE_OK);
  for (int which = 0; which < 2; ++which) {
    AlignedMem weights(wbytes + 256), arena(abytes + 256);
    const uint64_t wsum = checksum(weights.p + wbytes - 1, 257), asum = checksum(arena.p + abytes - 1, 257);
    triage_options oo = o;
    oo.weights = weights.p;
    oo.weights_size = which == 0 ? wbytes - 1 : wbytes;
    oo.arena = arena.p;
    oo.arena_size = which == 1 ? abytes - 1 : abytes;
    triage_model* m = nullptr;
    EXPECT_EQ(triage_open_memory(model.data(), model.size(), &oo, &m), TRIAGE_E_NOMEM) << (which ? "arena" : "weights");
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::strstr(triage_open_error(), "caller's memory"), nullptr) << triage_open_error();
    if (which == 0) {
      EXPECT_EQ(checksum(weights.p + wbytes - 1, 257), wsum) << "wrote past the weights";
    } else {
      EXPECT_EQ(checksum(arena.p + abytes - 1, 257), asum) << "wrote past the arena";
    }
  }
  // An arena sized with 64-byte aligned bytes, then an open given unaligned ones (their aligned copy
  // needs arena room the size did not count): NOMEM naming the cause.
  AlignedMem aligned(model.size()), arena_mem(abytes), weights_mem(wbytes);
  std::memcpy(aligned.p, model.data(), model.size());
  size_t aligned_abytes = 0;
  ASSERT_EQ(triage_arena_size(aligned.p, model.size(), &o, &aligned_abytes), TRIAGE_OK);
  std::vector<uint8_t> shifted(model.size() + 1);
  std::memcpy(shifted.data() + 1, model.data(), model.size());
  triage_options oo = o;
  oo.weights = weights_mem.p;
  oo.weights_size = wbytes;
  oo.arena = arena_mem.p;
  oo.arena_size = aligned_abytes;
  size_t unaligned_abytes = 0;
  ASSERT_EQ(triage_arena_size(shifted.data() + 1, model.size(), &o, &unaligned_abytes), TRIAGE_OK);
  ASSERT_GT(unaligned_abytes, aligned_abytes) << "this model's aligned copy outgrows its activations";
  triage_model* m = nullptr;
  EXPECT_EQ(triage_open_memory(shifted.data() + 1, model.size(), &oo, &m), TRIAGE_E_NOMEM);
  EXPECT_NE(std::strstr(triage_open_error(), "not 64-byte aligned"), nullptr) << "got: " << triage_open_error();
  ASSERT_EQ(triage_open_memory(aligned.p, model.size(), &oo, &m), TRIAGE_OK) << triage_open_error();
  triage_close(m);
}

}  // namespace
}  // namespace triage::test
