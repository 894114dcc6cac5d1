// C API misuse: every bad argument or malformed model gives a status code and a message, never a crash.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

class CApi : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = make_random_model(RandomModelSpec{});
    triage_options o = options(1, 2);
    ASSERT_EQ(triage_open_memory(model_.data(), model_.size(), &o, &m_), TRIAGE_OK) << triage_open_error();
    img_ = make_random_image(1, 50, 60, 1, false);
  }
  void TearDown() override { triage_close(m_); }

  // Classifies a (modified) image and checks the status and that a message was left.
  void expect_classify(const triage_image& v, triage_status want) {
    triage_result r;
    EXPECT_EQ(triage_classify(m_, &v, &r), want);
    EXPECT_STRNE(triage_last_error(m_), "");
  }

  std::vector<uint8_t> model_;
  triage_model* m_ = nullptr;
  TestImage img_;
};

TEST_F(CApi, NullPointers) {
  const triage_image v = view(img_);
  triage_result r;
  EXPECT_EQ(triage_classify(nullptr, &v, &r), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_classify(m_, nullptr, &r), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_STRNE(triage_last_error(m_), "");
  EXPECT_EQ(triage_classify(m_, &v, nullptr), TRIAGE_E_INVALID_ARGUMENT);
  triage_image n = v;
  n.data = nullptr;
  expect_classify(n, TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_get_info(m_, nullptr), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_STRNE(triage_last_error(nullptr), "");
  triage_close(nullptr);
}

TEST_F(CApi, Dimensions) {
  triage_image v = view(img_);
  v.height = 0;
  expect_classify(v, TRIAGE_E_INVALID_ARGUMENT);
  v = view(img_);
  v.width = 0;
  expect_classify(v, TRIAGE_E_INVALID_ARGUMENT);
  v = view(img_);
  v.width = TRIAGE_MAX_IMAGE_SIDE + 1;
  v.row_stride = SIZE_MAX / 2;
  expect_classify(v, TRIAGE_E_LIMIT);
  v = view(img_);
  v.height = 0xFFFFFFFFu;
  expect_classify(v, TRIAGE_E_LIMIT);
  v = view(img_);
  v.row_stride = v.width - 1;
  expect_classify(v, TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(triage_last_error(m_), "row_stride"), nullptr) << triage_last_error(m_);
  v = view(img_);
  v.row_stride = SIZE_MAX / 2;  // the image's span overflows
  expect_classify(v, TRIAGE_E_LIMIT);
}

TEST_F(CApi, ChannelsAndPixelType) {
  triage_image v = view(img_);
  v.channels = 3;
  v.row_stride = 3 * v.width;
  expect_classify(v, TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(triage_last_error(m_), "channels"), nullptr);
  v = view(img_);
  v.pixel = 7;
  expect_classify(v, TRIAGE_E_INVALID_ARGUMENT);
  const TestImage w = make_random_image(2, 10, 11, 1, true);
  v = view(w);
  v.row_stride = 23;  // odd stride for u16
  expect_classify(v, TRIAGE_E_INVALID_ARGUMENT);
}

TEST_F(CApi, BatchLimits) {
  std::vector<triage_image> v(3, view(img_));
  triage_result r[3];
  EXPECT_EQ(triage_classify_batch(m_, v.data(), 3, r), TRIAGE_E_LIMIT);  // max_batch 2
  EXPECT_STRNE(triage_last_error(m_), "");
  EXPECT_EQ(triage_classify_batch(m_, v.data(), 0, r), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_classify_batch(m_, v.data(), SIZE_MAX, r), TRIAGE_E_LIMIT);
  v[1].width = 0;  // one bad image fails the whole batch, naming it
  EXPECT_EQ(triage_classify_batch(m_, v.data(), 2, r), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(triage_last_error(m_), "image 1"), nullptr) << triage_last_error(m_);
  EXPECT_EQ(triage_classify_batch(m_, v.data(), 1, r), TRIAGE_OK);
  EXPECT_STREQ(triage_last_error(m_), "");  // cleared by a successful call
}

TEST(CApiOpen, BadArguments) {
  const std::vector<uint8_t> model = make_random_model(RandomModelSpec{});
  triage_model* m = reinterpret_cast<triage_model*>(0x1);
  EXPECT_EQ(triage_open_memory(nullptr, 10, nullptr, &m), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  EXPECT_STRNE(triage_open_error(), "");
  EXPECT_EQ(triage_open_memory(model.data(), 0, nullptr, &m), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), nullptr, nullptr), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_open_file(nullptr, nullptr, &m), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_open_file("/nonexistent/model.trw", nullptr, &m), TRIAGE_E_IO);
  EXPECT_NE(std::strstr(triage_open_error(), "/nonexistent/model.trw"), nullptr);

  struct Bad {
    const char* what;
    void (*edit)(triage_options&);
    triage_status want;
  };
  const Bad bad[] = {
      {"struct_size", [](triage_options& o) { o.struct_size = 8; }, TRIAGE_E_INVALID_ARGUMENT},
      {"threads 0", [](triage_options& o) { o.threads = 0; }, TRIAGE_E_INVALID_ARGUMENT},
      {"threads huge", [](triage_options& o) { o.threads = 100000; }, TRIAGE_E_LIMIT},
      {"max_batch 0", [](triage_options& o) { o.max_batch = 0; }, TRIAGE_E_INVALID_ARGUMENT},
      {"max_batch huge", [](triage_options& o) { o.max_batch = 1u << 30; }, TRIAGE_E_LIMIT},
      {"isa", [](triage_options& o) { o.isa_cap = 99; }, TRIAGE_E_INVALID_ARGUMENT},
      {"force", [](triage_options& o) { o.force = 9; }, TRIAGE_E_INVALID_ARGUMENT},
      {"unknown flag bits", [](triage_options& o) { o.flags = 2; }, TRIAGE_E_INVALID_ARGUMENT},
      {"arena size without arena", [](triage_options& o) { o.arena_size = 100; }, TRIAGE_E_INVALID_ARGUMENT},
  };
  for (const Bad& b : bad) {
    triage_options o = options();
    b.edit(o);
    EXPECT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), b.want) << b.what;
    EXPECT_EQ(m, nullptr);
    EXPECT_STRNE(triage_open_error(), "") << b.what;
  }
}

// Issue 15: an unknown TRIAGE_ISA value was silently ignored; it is refused at open, by name, and every
// spelling the C API and the CLI print (avx512_vnni) is accepted.
TEST(CApiOpen, EnvironmentIsaNamesAreCheckedAtOpen) {
  const std::vector<uint8_t> model = make_random_model(RandomModelSpec{});
  triage_model* m = nullptr;
  ::setenv("TRIAGE_ISA", "avx1024", 1);
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), nullptr, &m), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::strstr(triage_open_error(), "TRIAGE_ISA='avx1024'"), nullptr) << triage_open_error();
  for (const char* name : {"scalar", "avx2", "avx512", "avx512_vnni", "vnni", "AMX"}) {
    ::setenv("TRIAGE_ISA", name, 1);
    ASSERT_EQ(triage_open_memory(model.data(), model.size(), nullptr, &m), TRIAGE_OK) << name << ": " << triage_open_error();
    triage_model_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(triage_get_info(m, &info), TRIAGE_OK);
    if (std::strcmp(name, "scalar") == 0) {
      EXPECT_STREQ(info.isa, "scalar");
    }
    if (std::strcmp(name, "avx2") == 0) {
      EXPECT_TRUE(!std::strcmp(info.isa, "avx2") || !std::strcmp(info.isa, "scalar")) << info.isa;
    }
    if (std::strcmp(name, "avx512_vnni") == 0) {
      EXPECT_STRNE(info.isa, "amx");
    }
    triage_close(m);
    m = nullptr;
  }
  ::unsetenv("TRIAGE_ISA");
}

// ABI (issue 14): a caller built against an older header passes its smaller struct; the library
// accepts every published size, defaults what the old struct lacks, and writes no byte past it.
TEST(CApiAbi, OlderOptionsStructGetsDefaultsForNewFields) {
  const std::vector<uint8_t> model = make_random_model(RandomModelSpec{});
  struct Old {  // the V1 layout, followed by bytes an old caller never set
    uint32_t struct_size, threads, isa_cap, max_batch, force, reserved;
    unsigned char after[32];
  } old;
  static_assert(offsetof(Old, after) == TRIAGE_OPTIONS_SIZE_V1);
  std::memset(&old, 0xA5, sizeof old);  // garbage where arena / arena_size would be
  old.struct_size = TRIAGE_OPTIONS_SIZE_V1;
  old.threads = 2;
  old.isa_cap = TRIAGE_ISA_AUTO;
  old.max_batch = 3;
  old.force = TRIAGE_FORCE_NONE;
  old.reserved = 0;
  triage_model* m = nullptr;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), reinterpret_cast<const triage_options*>(&old), &m), TRIAGE_OK)
      << triage_open_error();
  triage_model_info info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(triage_get_info(m, &info), TRIAGE_OK);
  EXPECT_EQ(info.threads, 2u);
  EXPECT_EQ(info.max_batch, 3u);
  EXPECT_GT(info.arena_bytes, 0u);  // the library allocated its own arena: the garbage was not read as one
  triage_close(m);
  for (uint32_t bad : {0u, 8u, TRIAGE_OPTIONS_SIZE_V1 + 8, uint32_t(sizeof(triage_options)) + 8}) {
    old.struct_size = bad;
    EXPECT_EQ(triage_open_memory(model.data(), model.size(), reinterpret_cast<const triage_options*>(&old), &m),
              TRIAGE_E_INVALID_ARGUMENT) << bad;
    EXPECT_NE(std::strstr(triage_open_error(), "struct_size"), nullptr);
  }
}

TEST(CApiAbi, OlderInfoStructIsFilledToItsEndOnly) {
  const std::vector<uint8_t> model = make_random_model(RandomModelSpec{});
  triage_model* m = nullptr;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), nullptr, &m), TRIAGE_OK) << triage_open_error();
  triage_model_info full{};
  full.struct_size = sizeof full;
  ASSERT_EQ(triage_get_info(m, &full), TRIAGE_OK);
  for (uint32_t size = TRIAGE_MODEL_INFO_SIZE_MIN; size <= sizeof(triage_model_info); size += 8) {
    unsigned char buf[sizeof(triage_model_info) + 16];
    std::memset(buf, 0x5A, sizeof buf);
    std::memcpy(buf, &size, sizeof size);
    ASSERT_EQ(triage_get_info(m, reinterpret_cast<triage_model_info*>(buf)), TRIAGE_OK) << size;
    EXPECT_EQ(std::memcmp(buf + sizeof(uint32_t), reinterpret_cast<const unsigned char*>(&full) + sizeof(uint32_t),
                          size - sizeof(uint32_t)), 0) << size;  // the prefix equals the full answer
    for (size_t i = size; i < sizeof buf; ++i) ASSERT_EQ(buf[i], 0x5A) << "byte " << i << " past struct_size " << size;
  }
  triage_model_info tiny{};
  tiny.struct_size = 8;
  EXPECT_EQ(triage_get_info(m, &tiny), TRIAGE_E_INVALID_ARGUMENT);
  tiny.struct_size = TRIAGE_MODEL_INFO_SIZE_MIN + 4;  // not on a field boundary
  EXPECT_EQ(triage_get_info(m, &tiny), TRIAGE_E_INVALID_ARGUMENT);
  triage_close(m);
}

TEST(CApiOpen, CallerArena) {
  const std::vector<uint8_t> model = make_random_model(RandomModelSpec{});
  triage_options o = options(2, 3);
  size_t need = 0;
  ASSERT_EQ(triage_arena_size(model.data(), model.size(), &o, &need), TRIAGE_OK) << triage_open_error();
  ASSERT_GT(need, 0u);
  void* arena = std::aligned_alloc(64, (need + 64 + 63) / 64 * 64);
  triage_model* m = nullptr;
  o.arena = static_cast<char*>(arena) + 8;  // unaligned
  o.arena_size = need;
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_E_INVALID_ARGUMENT);
  o.arena = arena;
  o.arena_size = need - 1;  // too small
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_E_NOMEM);
  EXPECT_NE(std::strstr(triage_open_error(), "arena"), nullptr);
  o.arena_size = need;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_OK) << triage_open_error();
  triage_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(triage_get_info(m, &info), TRIAGE_OK);
  EXPECT_EQ(info.arena_bytes, need);
  info.struct_size = 4;
  EXPECT_EQ(triage_get_info(m, &info), TRIAGE_E_INVALID_ARGUMENT);

  // Same results as with an engine-owned arena.
  triage_options own = options(2, 3);
  triage_model* m2 = nullptr;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), &own, &m2), TRIAGE_OK);
  const TestImage img = make_random_image(3, 70, 70, 1, false);
  const triage_image v = view(img);
  triage_result a, b;
  ASSERT_EQ(triage_classify(m, &v, &a), TRIAGE_OK);
  ASSERT_EQ(triage_classify(m2, &v, &b), TRIAGE_OK);
  EXPECT_EQ(0, std::memcmp(a.probabilities, b.probabilities, sizeof(float) * info.num_classes));
  triage_close(m);
  triage_close(m2);
  std::free(arena);
}

TEST(CApiOpen, UnalignedSpanAndInfo) {
  const std::vector<uint8_t> model = make_random_model(RandomModelSpec{});
  std::vector<uint8_t> shifted(model.size() + 3);
  std::memcpy(shifted.data() + 3, model.data(), model.size());
  triage_model* m = nullptr;
  ASSERT_EQ(triage_open_memory(shifted.data() + 3, model.size(), nullptr, &m), TRIAGE_OK) << triage_open_error();
  shifted.assign(shifted.size(), 0);  // the span may be released after open
  triage_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(triage_get_info(m, &info), TRIAGE_OK);
  EXPECT_STREQ(info.arch, "cfvit");
  EXPECT_EQ(info.num_classes, 5u);
  EXPECT_STREQ(info.class_names[info.good_class], "class0");
  EXPECT_EQ(info.tokens_coarse, 17u);
  EXPECT_EQ(info.tokens_fine, 29u);
  EXPECT_GT(info.weight_bytes, 0u);
  EXPECT_STRNE(info.isa, "");
  const TestImage img = make_random_image(3, 70, 70, 1, false);
  const triage_image v = view(img);
  triage_result r;
  EXPECT_EQ(triage_classify(m, &v, &r), TRIAGE_OK) << triage_last_error(m);
  triage_close(m);
}

TEST(CApiOpen, MalformedModels) {
  const std::vector<uint8_t> good = make_random_model(RandomModelSpec{});
  triage_model* m = nullptr;
  // Garbage and truncation.
  std::vector<uint8_t> junk(4096, 0xAB);
  EXPECT_EQ(triage_open_memory(junk.data(), junk.size(), nullptr, &m), TRIAGE_E_FORMAT);
  for (size_t cut : {size_t(10), size_t(100), good.size() / 2, good.size() - 1}) {
    EXPECT_NE(triage_open_memory(good.data(), cut, nullptr, &m), TRIAGE_OK) << cut;
    EXPECT_EQ(m, nullptr);
    EXPECT_STRNE(triage_open_error(), "");
  }
  // A flipped byte in the data section: checksum.
  std::vector<uint8_t> flipped = good;
  flipped[flipped.size() - 100] ^= 0x5A;
  EXPECT_EQ(triage_open_memory(flipped.data(), flipped.size(), nullptr, &m), TRIAGE_E_FORMAT);

  struct Case {
    const char* what;
    RandomModelSpec spec;
    triage_status want;
    const char* needle;
  };
  std::vector<Case> cases;
  RandomModelSpec s;
  s.drop_tensor = "blocks.1.mlp.fc2.weight";
  cases.push_back({"missing tensor", s, TRIAGE_E_FORMAT, "blocks.1.mlp.fc2.weight"});
  s = RandomModelSpec{};
  s.meta_i64 = {{"arch.dim", 1 << 20}};
  cases.push_back({"huge dim", s, TRIAGE_E_LIMIT, "arch.dim"});
  s.meta_i64 = {{"arch.dim", 96}};
  cases.push_back({"shape mismatch", s, TRIAGE_E_FORMAT, "shape"});
  s.meta_i64 = {{"arch.topk", 17}};
  cases.push_back({"topk above Gc", s, TRIAGE_E_FORMAT, "arch.topk"});
  s.meta_i64 = {{"arch.heads", 5}};
  cases.push_back({"heads not dividing dim", s, TRIAGE_E_FORMAT, "arch.heads"});
  s.meta_i64 = {{"arch.img_full", 1 << 20}};
  cases.push_back({"huge image", s, TRIAGE_E_LIMIT, "arch.img_full"});
  s.meta_i64 = {{"input.channels", 3}};
  cases.push_back({"channels mismatch", s, TRIAGE_E_FORMAT, "input.channels"});
  s = RandomModelSpec{};
  s.arch = "resnet";
  cases.push_back({"unknown arch", s, TRIAGE_E_UNSUPPORTED, "resnet"});
  for (const Case& c : cases) {
    const std::vector<uint8_t> bytes = make_random_model(c.spec);
    EXPECT_EQ(triage_open_memory(bytes.data(), bytes.size(), nullptr, &m), c.want) << c.what;
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::strstr(triage_open_error(), c.needle), nullptr) << c.what << ": " << triage_open_error();
    size_t need = 1;
    EXPECT_EQ(triage_arena_size(bytes.data(), bytes.size(), nullptr, &need), c.want) << c.what;
  }
}

TEST(CApiOpen, NamesAndVersion) {
  EXPECT_STREQ(triage_status_name(TRIAGE_E_LIMIT), "LIMIT");
  EXPECT_STREQ(triage_status_name(static_cast<triage_status>(99)), "UNKNOWN");
  EXPECT_EQ(triage_isa_from_name("avx2"), TRIAGE_ISA_AVX2);
  EXPECT_EQ(triage_isa_from_name("avx512_vnni"), TRIAGE_ISA_AVX512_VNNI);
  EXPECT_EQ(triage_isa_from_name("sse9"), -1);
  EXPECT_EQ(triage_isa_from_name(nullptr), -1);
  EXPECT_STRNE(triage_version(), "");
}

TEST(CApiOpen, IsaCapIsHonoured) {
  const std::vector<uint8_t> model = make_random_model(RandomModelSpec{});
  triage_options o = options();
  o.isa_cap = TRIAGE_ISA_SCALAR;
  triage_model* m = nullptr;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_OK);
  triage_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(triage_get_info(m, &info), TRIAGE_OK);
  EXPECT_STREQ(info.isa, "scalar");
  triage_close(m);
}

}  // namespace
}  // namespace triage::test
