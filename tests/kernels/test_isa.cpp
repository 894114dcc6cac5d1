// ISA detection and selection: TRIAGE_ISA cap honoured, unknown value ignored, API cap honoured.
#include <cstdlib>

#include "tests/kernels/test_util.h"

namespace triage::kernels::test {
namespace {

TEST(Isa, NamesRoundTrip) {
  for (int i = 0; i < kIsaCount; ++i) {
    const Isa isa = static_cast<Isa>(i);
    Isa back;
    ASSERT_TRUE(parse_isa(isa_name(isa), &back)) << isa_name(isa);
    EXPECT_EQ(back, isa);
  }
  Isa x;
  EXPECT_TRUE(parse_isa("AVX512VNNI", &x));
  EXPECT_EQ(x, Isa::Avx512Vnni);
  EXPECT_FALSE(parse_isa("sse2", &x));
  EXPECT_FALSE(parse_isa("", &x));
  EXPECT_FALSE(parse_isa(nullptr, &x));
}

TEST(Isa, DetectIsStableAndAtLeastScalar) {
  const Isa a = detect_isa(), b = detect_isa();
  EXPECT_EQ(a, b);
  std::printf("detected ISA: %s\n", isa_name(a));
}

// Injected CPUID / XCR0 words (issue 15): every level, and each way the OS or the kernel can withhold one.
CpuFeatures features(Isa level) {
  CpuFeatures f;
  f.leaf1_ecx = (1u << 12) | (1u << 27) | (1u << 28);  // FMA, OSXSAVE, AVX
  f.xcr0 = 0x7;                                        // x87, SSE, AVX state
  f.leaf7_ebx = 1u << 5;                               // AVX2
  if (level >= Isa::Avx512) {
    f.leaf7_ebx |= (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);  // F, DQ, BW, VL
    f.xcr0 |= 0xe0;                                                    // opmask, ZMM_Hi256, Hi16_ZMM
  }
  if (level >= Isa::Avx512Vnni) f.leaf7_ecx |= 1u << 11;
  if (level >= Isa::Amx) {
    f.leaf7_edx |= (1u << 24) | (1u << 25);  // AMX-TILE, AMX-INT8
    f.xcr0 |= 3ull << 17;                    // XTILECFG, XTILEDATA
  }
  return f;
}
bool granted() { return true; }
bool refused() { return false; }

TEST(Isa, FeatureWordsGiveEveryLevel) {
  EXPECT_EQ(isa_from_features(CpuFeatures{}, granted), Isa::Scalar);
  for (Isa level : {Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx})
    EXPECT_EQ(isa_from_features(features(level), granted), level) << isa_name(level);
}

TEST(Isa, OsDisabledStateAndRefusedPermissionFallBack) {
  CpuFeatures f = features(Isa::Amx);
  f.xcr0 &= ~0xe0ull;  // the OS does not save ZMM / opmask state: AVX-512 must not be used
  EXPECT_EQ(isa_from_features(f, granted), Isa::Avx2);
  f = features(Isa::Amx);
  f.xcr0 &= ~0x4ull;  // no YMM state: not even AVX2
  EXPECT_EQ(isa_from_features(f, granted), Isa::Scalar);
  f = features(Isa::Amx);
  f.leaf1_ecx &= ~(1u << 27);  // no OSXSAVE
  EXPECT_EQ(isa_from_features(f, granted), Isa::Scalar);
  f = features(Isa::Amx);
  f.leaf1_ecx &= ~(1u << 12);  // AVX2 without FMA: the AVX2 kernels use FMA
  EXPECT_EQ(isa_from_features(f, granted), Isa::Scalar);
  f = features(Isa::Amx);
  f.leaf7_ebx &= ~(1u << 30);  // AVX-512 without BW
  EXPECT_EQ(isa_from_features(f, granted), Isa::Avx2);
  EXPECT_EQ(isa_from_features(features(Isa::Amx), refused), Isa::Avx512Vnni);  // arch_prctl refused
  EXPECT_EQ(isa_from_features(features(Isa::Amx), nullptr), Isa::Avx512Vnni);
  f = features(Isa::Amx);
  f.xcr0 &= ~(1ull << 18);  // XTILEDATA not enabled
  EXPECT_EQ(isa_from_features(f, granted), Isa::Avx512Vnni);
  f = features(Isa::Amx);
  f.leaf7_edx &= ~(1u << 25);  // AMX-TILE without AMX-INT8
  EXPECT_EQ(isa_from_features(f, granted), Isa::Avx512Vnni);
}

TEST(Isa, ThisMachineMatchesItsOwnFeatureWords) {
#if defined(__aarch64__)
  // aarch64: no CPUID words; Advanced SIMD is part of ARMv8-A, so the level is Neon.
  EXPECT_EQ(isa_from_features(read_cpu_features(), granted), Isa::Scalar);
  EXPECT_EQ(detect_isa(), Isa::Neon);
#else
  // detect_isa() is isa_from_features() of the real words (AMX permission aside, which only lowers it)
  const Isa from_words = isa_from_features(read_cpu_features(), granted);
  EXPECT_TRUE(detect_isa() == from_words || (from_words == Isa::Amx && detect_isa() == Isa::Avx512Vnni));
#if defined(__x86_64__)
  EXPECT_NE(detect_isa(), Isa::Neon);
#endif
#endif
}

TEST(Isa, EveryLevelHasANameTheParserReads) {
  for (Isa level : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx, Isa::Neon}) {
    Isa back;
    ASSERT_TRUE(parse_isa(isa_name(level), &back)) << isa_name(level);
    EXPECT_EQ(back, level);
  }
  Isa v;
  EXPECT_TRUE(parse_isa("avx512_vnni", &v));
  EXPECT_EQ(v, Isa::Avx512Vnni);
  EXPECT_FALSE(parse_isa("avx1024", &v));
  EXPECT_TRUE(parse_isa("NEON", &v));
  EXPECT_EQ(v, Isa::Neon);
  EXPECT_STREQ(isa_name(Isa::Neon), "neon");
  EXPECT_EQ(kIsaCount, 6);
}

// Two families (x86: Scalar < Avx2 < Avx512 < Avx512Vnni < Amx; Arm: Scalar < Neon): no level of one
// implies a level of the other, whatever the enum values.
TEST(Isa, FamiliesDoNotImplyEachOther) {
  EXPECT_TRUE(isa_implies(Isa::Neon, Isa::Neon));
  EXPECT_TRUE(isa_implies(Isa::Neon, Isa::Scalar));
  for (Isa x : {Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx}) {
    EXPECT_FALSE(isa_implies(Isa::Neon, x)) << isa_name(x);
    EXPECT_FALSE(isa_implies(x, Isa::Neon)) << isa_name(x);
    EXPECT_TRUE(isa_implies(x, Isa::Scalar));
    EXPECT_TRUE(isa_implies(Isa::Amx, x));
    EXPECT_TRUE(isa_implies(x, Isa::Avx2));
  }
  EXPECT_FALSE(isa_implies(Isa::Avx2, Isa::Avx512));
  EXPECT_FALSE(isa_implies(Isa::Scalar, Isa::Neon));
  EXPECT_FALSE(isa_implies(Isa::Scalar, Isa::Avx2));
}

// Caps on a Neon machine (and Neon as a cap on x86): scalar always selects Scalar; neon or the "no
// cap" value Amx (TRIAGE_ISA_AUTO) leave Neon; an x86 level below Amx allows only Scalar there.
TEST(Isa, SelectFromRulesNeon) {
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Amx, nullptr), Isa::Neon);       // default: no cap
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Neon, nullptr), Isa::Neon);
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Scalar, nullptr), Isa::Scalar);  // API cap scalar
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Amx, "scalar"), Isa::Scalar);    // TRIAGE_ISA=scalar
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Amx, "neon"), Isa::Neon);
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Amx, "amx"), Isa::Neon);         // amx = no cap
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Amx, "avx2"), Isa::Scalar);      // at most AVX2: not NEON
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Avx512Vnni, nullptr), Isa::Scalar);
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Neon, "scalar"), Isa::Scalar);
  EXPECT_EQ(select_isa_from(Isa::Neon, Isa::Amx, "bogus"), Isa::Neon);       // ignored
  EXPECT_EQ(select_isa_from(Isa::Scalar, Isa::Neon, "neon"), Isa::Scalar);   // never above the CPU
  // Neon as a cap on x86 machines: only Scalar is "at most neon" there.
  EXPECT_EQ(select_isa_from(Isa::Amx, Isa::Neon, nullptr), Isa::Scalar);
  EXPECT_EQ(select_isa_from(Isa::Avx2, Isa::Amx, "neon"), Isa::Scalar);
  EXPECT_EQ(select_isa_from(Isa::Avx512, Isa::Amx, "amx"), Isa::Avx512);
  // The result is always a level the machine has.
  for (int d = 0; d < kIsaCount; ++d)
    for (int c = 0; c < kIsaCount; ++c)
      for (const char* env : {(const char*)nullptr, "scalar", "avx2", "avx512", "vnni", "amx", "neon"}) {
        const Isa r = select_isa_from(static_cast<Isa>(d), static_cast<Isa>(c), env);
        EXPECT_TRUE(isa_implies(static_cast<Isa>(d), r)) << d << " " << c << " " << (env ? env : "-");
      }
}

TEST(Isa, SelectFromRules) {
  EXPECT_EQ(select_isa_from(Isa::Amx, Isa::Amx, nullptr), Isa::Amx);
  EXPECT_EQ(select_isa_from(Isa::Avx2, Isa::Amx, nullptr), Isa::Avx2);       // CPU limit
  EXPECT_EQ(select_isa_from(Isa::Amx, Isa::Avx512, nullptr), Isa::Avx512);   // API cap
  EXPECT_EQ(select_isa_from(Isa::Amx, Isa::Amx, "avx2"), Isa::Avx2);         // env cap
  EXPECT_EQ(select_isa_from(Isa::Amx, Isa::Scalar, "amx"), Isa::Scalar);     // lower of both
  EXPECT_EQ(select_isa_from(Isa::Amx, Isa::Avx2, "vnni"), Isa::Avx2);
  EXPECT_EQ(select_isa_from(Isa::Avx2, Isa::Amx, "amx"), Isa::Avx2);         // never above CPU
  EXPECT_EQ(select_isa_from(Isa::Amx, Isa::Avx512Vnni, "bogus"), Isa::Avx512Vnni);  // ignored
  EXPECT_EQ(select_isa_from(Isa::Amx, Isa::Amx, ""), Isa::Amx);
}

TEST(Isa, EnvironmentCapHonoured) {
  ::setenv("TRIAGE_ISA", "scalar", 1);
  EXPECT_EQ(select_isa(), Isa::Scalar);
  IsaEnv e = isa_env();
  EXPECT_TRUE(e.present);
  EXPECT_TRUE(e.recognised);
  EXPECT_EQ(e.cap, Isa::Scalar);

  ::setenv("TRIAGE_ISA", "AVX2", 1);
  EXPECT_EQ(select_isa(), have_isa(Isa::Avx2) ? Isa::Avx2 : Isa::Scalar);

  ::setenv("TRIAGE_ISA", "neon", 1);
  EXPECT_EQ(select_isa(), have_isa(Isa::Neon) ? Isa::Neon : Isa::Scalar);
  EXPECT_EQ(select_isa(Isa::Scalar), Isa::Scalar);

  ::setenv("TRIAGE_ISA", "avx1024", 1);  // unknown: ignored, reported
  EXPECT_EQ(select_isa(), detect_isa());
  e = isa_env();
  EXPECT_TRUE(e.present);
  EXPECT_FALSE(e.recognised);
  EXPECT_STREQ(e.value, "avx1024");

  ::unsetenv("TRIAGE_ISA");
  EXPECT_EQ(select_isa(), detect_isa());
  EXPECT_EQ(select_isa(Isa::Scalar), Isa::Scalar);
  EXPECT_FALSE(isa_env().present);
}

}  // namespace
}  // namespace triage::kernels::test
