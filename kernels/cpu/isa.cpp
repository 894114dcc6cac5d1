// ISA detection (CPUID + XCR0 + Linux AMX permission), TRIAGE_ISA parsing and selection. On aarch64
// there are no CPUID words (the features stay zero): the level is Neon (Advanced SIMD is mandatory in
// ARMv8-A), and the dot-product extension (SDOT, used inside the Neon q8 GEMM only) is read from
// getauxval(AT_HWCAP) & HWCAP_ASIMDDP. Other architectures: scalar.
#if defined(__x86_64__) || defined(__i386__)
#define TRIAGE_ISA_CPUID 1
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#define TRIAGE_ISA_NEON 1
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#endif
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu/internal.h"

namespace triage::kernels {
namespace {

#ifdef TRIAGE_ISA_CPUID
uint64_t xgetbv0() {
  uint32_t lo, hi;
  // xgetbv with ecx = 0 (XCR0); encoded as bytes so no -mxsave is needed.
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

// Linux: AMX tile data is off until the process asks for it (since 5.16).
bool request_amx_permission() {
#ifdef __linux__
  constexpr long kArchGetXcompPerm = 0x1022;
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return false;
  unsigned long bitmask = 0;
  if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &bitmask) != 0) return false;
  return (bitmask & (1ul << kXfeatureXtiledata)) != 0;
#else
  return false;
#endif
}

#endif  // TRIAGE_ISA_CPUID

CpuFeatures cpuid_words() {
  CpuFeatures f;
#ifdef TRIAGE_ISA_CPUID
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.leaf1_ecx = c;
  if (c & (1u << 27)) f.xcr0 = xgetbv0();  // xgetbv faults unless OSXSAVE
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.leaf7_ebx = b;
    f.leaf7_ecx = c;
    f.leaf7_edx = d;
  }
#endif
  return f;
}

Isa detect_uncached() {
#ifdef TRIAGE_SIMD_EMULATED
  return Isa::Amx;  // the emulated test build (simd_emulated_avx512.h): every level runs, emulated
#else
#if defined(TRIAGE_ISA_CPUID)
  return isa_from_features(cpuid_words(), request_amx_permission);
#elif defined(TRIAGE_ISA_NEON)
  return Isa::Neon;
#else
  return Isa::Scalar;
#endif
#endif
}

std::atomic<int> g_detected{-1};
std::atomic<int> g_dotprod{-1};

bool x86_family(Isa isa) {
  return isa == Isa::Avx2 || isa == Isa::Avx512 || isa == Isa::Avx512Vnni || isa == Isa::Amx;
}
bool arm_family(Isa isa) { return isa == Isa::Neon; }
bool same_family(Isa a, Isa b) { return (x86_family(a) && x86_family(b)) || (arm_family(a) && arm_family(b)); }

// `detected` capped by `cap` (the rule of select_isa in kernels.h): a cap allows Scalar and the levels
// of its own family up to itself; Amx, the "no cap" value, allows every level of both families.
Isa apply_cap(Isa detected, Isa cap) {
  if (cap == Isa::Scalar || detected == Isa::Scalar) return Isa::Scalar;
  if (same_family(detected, cap))
    return static_cast<int>(cap) < static_cast<int>(detected) ? cap : detected;  // ranks within one family
  if (cap == Isa::Amx) return detected;  // no cap (TRIAGE_ISA_AUTO maps here)
  return Isa::Scalar;                    // e.g. avx2 on aarch64, neon on x86-64: only Scalar is allowed
}

}  // namespace

CpuFeatures read_cpu_features() { return cpuid_words(); }

Isa isa_from_features(const CpuFeatures& f, bool (*amx_permission)()) {
  const uint32_t c1 = f.leaf1_ecx;
  const bool osxsave = c1 & (1u << 27), avx = c1 & (1u << 28), fma = c1 & (1u << 12);
  if (!osxsave || !avx || !fma) return Isa::Scalar;
  if ((f.xcr0 & 0x6) != 0x6) return Isa::Scalar;  // SSE + AVX state enabled by the OS
  const uint32_t b = f.leaf7_ebx, c = f.leaf7_ecx, d = f.leaf7_edx;
  if (!(b & (1u << 5))) return Isa::Scalar;  // AVX2
  const bool af = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  const bool zmm_state = (f.xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  if (!(af && dq && bw && vl && zmm_state)) return Isa::Avx2;
  if (!(c & (1u << 11))) return Isa::Avx512;  // AVX512_VNNI
  const bool amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  const bool tile_state = (f.xcr0 & (3ull << 17)) == (3ull << 17);  // XTILECFG, XTILEDATA
  if (!(amx_tile && amx_int8 && tile_state)) return Isa::Avx512Vnni;
  if (!amx_permission || !amx_permission()) return Isa::Avx512Vnni;  // refused: fall back cleanly
  return Isa::Amx;
}

bool isa_implies(Isa best, Isa level) {
  if (level == Isa::Scalar) return true;
  return same_family(best, level) && static_cast<int>(level) <= static_cast<int>(best);
}

namespace detail {
bool neon_dotprod() {
  int v = g_dotprod.load(std::memory_order_acquire);
  if (v < 0) {
    v = 0;
#if defined(TRIAGE_ISA_NEON) && defined(__linux__)
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
    v = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? 1 : 0;
#endif
    g_dotprod.store(v, std::memory_order_release);
  }
  return v != 0;
}
}  // namespace detail

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Avx512Vnni: return "vnni";
    case Isa::Amx: return "amx";
    case Isa::Neon: return "neon";
  }
  return "unknown";
}

bool parse_isa(const char* s, Isa* out) {
  if (!s) return false;
  struct Name { const char* s; Isa isa; };
  static constexpr Name kNames[] = {{"scalar", Isa::Scalar}, {"avx2", Isa::Avx2},
                                    {"avx512", Isa::Avx512}, {"vnni", Isa::Avx512Vnni},
                                    {"avx512vnni", Isa::Avx512Vnni}, {"avx512_vnni", Isa::Avx512Vnni},
                                    {"amx", Isa::Amx}, {"neon", Isa::Neon}};
  for (const Name& n : kNames) {
    if (strcasecmp(s, n.s) == 0) {
      *out = n.isa;
      return true;
    }
  }
  return false;
}

Isa detect_isa() {
  int v = g_detected.load(std::memory_order_acquire);
  if (v < 0) {
    // Benign race: concurrent first calls compute the same value (the AMX request is idempotent).
    v = static_cast<int>(detect_uncached());
    g_detected.store(v, std::memory_order_release);
  }
  return static_cast<Isa>(v);
}

IsaEnv isa_env() {
  IsaEnv e;
  const char* v = std::getenv("TRIAGE_ISA");
  if (!v || !*v) return e;
  e.present = true;
  std::strncpy(e.value, v, sizeof(e.value) - 1);
  Isa cap;
  if (parse_isa(v, &cap)) {
    e.recognised = true;
    e.cap = cap;
  }
  return e;
}

Isa select_isa_from(Isa detected, Isa api_cap, const char* env_value) {
  Isa r = apply_cap(detected, api_cap);
  Isa env_cap;
  if (env_value && *env_value && parse_isa(env_value, &env_cap)) r = apply_cap(r, env_cap);
  return r;
}

Isa select_isa(Isa api_cap) {
  return select_isa_from(detect_isa(), api_cap, std::getenv("TRIAGE_ISA"));
}

}  // namespace triage::kernels
