// Shared helpers for the kernel tests: seeded random data, aligned buffers, ISA skips.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/kernels.h"

namespace triage::kernels::test {

// The level can run here (same family as the detected level and not above it; Scalar always).
inline bool have_isa(Isa isa) { return isa_implies(detect_isa(), isa); }

inline const char* isa_missing_message(Isa isa) {
  switch (isa) {
    case Isa::Avx2: return "AVX2+FMA not available on this CPU";
    case Isa::Avx512: return "AVX-512 (F/BW/DQ/VL) not available on this CPU";
    case Isa::Avx512Vnni: return "AVX-512 VNNI not available on this CPU";
    case Isa::Amx: return "AMX-INT8 not available on this CPU (or XTILEDATA permission refused)";
    case Isa::Neon: return "NEON is the aarch64 level (not this architecture)";
    default: return "";
  }
}

#define TRIAGE_REQUIRE_ISA(isa)                                                              \
  do {                                                                                       \
    if (!::triage::kernels::test::have_isa(isa))                                             \
      GTEST_SKIP() << ::triage::kernels::test::isa_missing_message(isa);                      \
  } while (0)

// 64-byte aligned, zero-initialised byte buffer.
struct Aligned {
  explicit Aligned(size_t bytes) : n(bytes), p(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64))) {
    std::memset(p, 0, (bytes + 63) / 64 * 64 + 64);
  }
  ~Aligned() { std::free(p); }
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
  size_t n;
  uint8_t* p;
};

inline std::vector<float> rand_f32(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

inline std::vector<int8_t> rand_i8(size_t n, uint32_t seed, int lo = -127, int hi = 127) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = int8_t(d(g));
  return v;
}

inline std::string isa_param_name(const testing::TestParamInfo<Isa>& i) { return isa_name(i.param); }

}  // namespace triage::kernels::test
