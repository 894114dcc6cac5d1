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
