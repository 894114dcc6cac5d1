// The emulation seam itself (issue 15): the scalar AMX tile model against a direct computation and on
// its fault paths, and proof that the emulated build really runs the AVX-512 / VNNI / AMX kernel code
// (the tile model counts executed instructions; the kernel tests of this binary then compare every
// level with the scalar reference: see test_gemm_*.cpp, run here with detect_isa() == Amx).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/amx_tile_model.h"
#include "kernels/cpu/kernels.h"

namespace triage::kernels::test {
namespace {

namespace am = amx_model;

am::Cfg cfg_all(int rows, int colsb) {
  am::Cfg c;
  c.palette = 1;
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = static_cast<uint8_t>(rows);
    c.colsb[t] = static_cast<uint16_t>(colsb);
  }
  return c;
}

TEST(AmxTileModel, DpbssdMatchesDirectSumWithStridesAndWrap) {
  am::tile_model_reset();
  std::mt19937 g(7);
  std::uniform_int_distribution<int> d(-128, 127);
  const int lda = 80, ldb = 72;  // strided rows (bytes), wider than the 64-byte tile rows
  std::vector<int8_t> a(16 * lda), b(16 * ldb);
  for (auto& v : a) v = int8_t(d(g));
  for (auto& v : b) v = int8_t(d(g));
  std::vector<int32_t> c0(16 * 16);
  for (auto& v : c0) v = d(g) * 1000;
  c0[5] = INT32_MAX - 3;  // wraps: the hardware accumulates modulo 2^32
  const am::Cfg cfg = cfg_all(16, 64);
  _tile_loadconfig(&cfg);
  _tile_loadd(0, c0.data(), 64);
  _tile_loadd(1, a.data(), lda);
  _tile_loadd(2, b.data(), ldb);
  _tile_dpbssd(0, 1, 2);
  std::vector<int32_t> c(16 * 16, 0);
  _tile_stored(0, c.data(), 64);
  _tile_release();
  ASSERT_EQ(am::tile_model_fault_count(), 0);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n) {
      uint32_t want = static_cast<uint32_t>(c0[m * 16 + n]);
      for (int k = 0; k < 16; ++k)
        for (int i = 0; i < 4; ++i) want += static_cast<uint32_t>(a[m * lda + 4 * k + i] * b[k * ldb + 4 * n + i]);
      EXPECT_EQ(c[m * 16 + n], static_cast<int32_t>(want)) << m << "," << n;
    }
}

TEST(AmxTileModel, PartialTilesZeroTheRest) {
  am::tile_model_reset();
  am::Cfg cfg = cfg_all(16, 64);
  cfg.rows[3] = 5;
  cfg.colsb[3] = 12;
  _tile_loadconfig(&cfg);
  std::vector<uint8_t> src(16 * 64, 0xAB), dst(16 * 64, 0x11);
  _tile_loadd(3, src.data(), 64);
  _tile_stored(3, dst.data(), 64);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 64; ++c) EXPECT_EQ(dst[r * 64 + c], (r < 5 && c < 12) ? 0xAB : 0x11) << r << "," << c;
  _tile_zero(3);
  _tile_stored(3, dst.data(), 64);
  EXPECT_EQ(dst[0], 0);
  EXPECT_EQ(am::tile_model_fault_count(), 0);
  _tile_release();
}

TEST(AmxTileModel, FaultsOnMisuse) {
  am::tile_model_reset();
  std::vector<uint8_t> buf(16 * 64);
  _tile_zero(0);  // before ldtilecfg: #UD
  EXPECT_EQ(am::tile_model_fault_count(), 1);
  am::Cfg bad = cfg_all(17, 64);  // rows > 16: #GP
  _tile_loadconfig(&bad);
  EXPECT_EQ(am::tile_model_fault_count(), 2);
  bad = cfg_all(16, 64);
  bad.palette = 2;
  _tile_loadconfig(&bad);
  EXPECT_EQ(am::tile_model_fault_count(), 3);
  am::Cfg ok = cfg_all(16, 64);
  ok.colsb[2] = 32;  // B of 16 rows needs A with colsb 64, C colsb must equal B's: mismatch
  _tile_loadconfig(&ok);
  _tile_dpbssd(0, 1, 2);
  EXPECT_EQ(am::tile_model_fault_count(), 4);
  _tile_release();
  _tile_loadd(0, buf.data(), 64);  // after tilerelease: #UD
  EXPECT_EQ(am::tile_model_fault_count(), 5);
}

TEST(Emulation, EveryLevelIsReportedAndTheAmxKernelRunsOnTheModel) {
  EXPECT_EQ(detect_isa(), Isa::Amx);  // this binary's ISA detection reports the emulated levels
  const int n = 45, k = 70, m = 37;
  std::mt19937 g(3);
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> w(size_t(n) * k), x(size_t(m) * k);
  for (auto& v : w) v = int8_t(d(g));
  for (auto& v : x) v = int8_t(d(g));
  std::vector<float> ws(n, 0.01f), xs(m, 0.02f);
  std::vector<float> ref(size_t(m) * n), got(size_t(m) * n);
  for (Isa isa : {Isa::Scalar, Isa::Amx}) {
    std::vector<uint8_t> packed(gemm_q8_packed_bytes(isa, n, k) + 64);
    void* p = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(packed.data()) + 63) & ~uintptr_t(63));
    const PackedQ8 pw = gemm_q8_pack(isa, w.data(), ws.data(), n, k, k, p);
    std::vector<float> scratch(gemm_q8_scratch_floats(pw) + 16);
    GemmEpilogue ep;
    ep.y = isa == Isa::Scalar ? ref.data() : got.data();
    ep.ldy = n;
    am::tile_model_reset();
    gemm_q8(pw, x.data(), k, xs.data(), ep, 0, m, 0, n, scratch.data());
    if (isa == Isa::Amx) {
      EXPECT_GT(am::tile_model_executed(), 0) << "the AMX kernel did not run on the tile model";
      EXPECT_EQ(am::tile_model_fault_count(), 0);
    }
  }
  EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)), 0);
}

}  // namespace
}  // namespace triage::kernels::test
