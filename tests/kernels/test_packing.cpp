// Packed weight layouts, checked on any CPU: the AVX-512 / VNNI / AMX kernels cannot run on every
// test machine, but their packing can. A scalar emulation reads each packed blob exactly as its
// kernel indexes it (panel, k-quad, column, byte; the VNNI u8 offset and its 128 * rowsum(x)
// correction) and must reproduce the scalar reference bit for bit.
#include <cmath>

#include "kernels/cpu/internal.h"
#include "tests/kernels/test_util.h"

namespace triage::kernels::test {
namespace {

using detail::align64;
using detail::round_up;

// acc[m][n] as each q8 layout's kernel would compute it (exact int32).
int32_t q8_dot(Isa layout, const uint8_t* wp, int n, int k, const int8_t* xr, int j) {
  int32_t acc = 0, xsum = 0;
  for (int q = 0; q < k; ++q) {
    const int x = xr[q];
    xsum += x;
    switch (layout) {
      case Isa::Avx2: {  // s8 [np/16][k4/4][16][4]
        const size_t off = (size_t(j / 16) * (round_up(k, 4) / 4) + q / 4) * 64 + (j % 16) * 4 + q % 4;
        acc += int8_t(wp[off]) * x;
        break;
      }
      case Isa::Avx512Vnni: {  // u8 (w + 128) [np/32][k4/4][32][4]
        const size_t off = (size_t(j / 32) * (round_up(k, 4) / 4) + q / 4) * 128 + (j % 32) * 4 + q % 4;
        acc += int(wp[off]) * x;
        break;
      }
      case Isa::Neon: {  // s8 [np/8][k4/4][8][4]
        const size_t off = (size_t(j / 8) * (round_up(k, 4) / 4) + q / 4) * 32 + (j % 8) * 4 + q % 4;
        acc += int8_t(wp[off]) * x;
        break;
      }
      case Isa::Amx: {  // s8 [np/16][k64/4][16][4]
        const size_t off = (size_t(j / 16) * (round_up(k, 64) / 4) + q / 4) * 64 + (j % 16) * 4 + q % 4;
        acc += int8_t(wp[off]) * x;
        break;
      }
      default: acc += int8_t(wp[size_t(j) * k + q]) * x;
    }
  }
  if (layout == Isa::Avx512Vnni) acc -= 128 * xsum;
  return acc;
}

TEST(Packing, Q8LayoutsEmulatedMatchScalar) {
  struct S { int m, n, k; };
  for (const S& s : {S{7, 13, 31}, S{5, 33, 65}, S{3, 576, 192}, S{2, 9, 128}, S{4, 40, 3}}) {
    const auto x = rand_i8(size_t(s.m) * s.k, 1);
    auto w = rand_i8(size_t(s.n) * s.k, 2, -128, 127);
    const auto xs = rand_f32(s.m, 3, 0.01f, 0.02f), ws = rand_f32(s.n, 4, 0.01f, 0.02f);
    Aligned ref_blob(gemm_q8_packed_bytes(Isa::Scalar, s.n, s.k));
    const PackedQ8 ref = gemm_q8_pack(Isa::Scalar, w.data(), ws.data(), s.n, s.k, s.k, ref_blob.p);
    std::vector<float> yref(size_t(s.m) * s.n), scratch(gemm_q8_scratch_floats(ref) + 1);
    GemmEpilogue ep;
    ep.y = yref.data();
    ep.ldy = s.n;
    gemm_q8(ref, x.data(), s.k, xs.data(), ep, 0, s.m, 0, s.n, scratch.data());
    for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx, Isa::Neon}) {
      Aligned blob(gemm_q8_packed_bytes(isa, s.n, s.k));
      const PackedQ8 p = gemm_q8_pack(isa, w.data(), ws.data(), s.n, s.k, s.k, blob.p);
      ASSERT_EQ(p.isa, isa == Isa::Avx512 ? Isa::Avx2 : isa);
      const uint8_t* wp = static_cast<const uint8_t*>(p.data);
      const float* wsp = reinterpret_cast<const float*>(wp + align64(detail::gemm_q8_weight_bytes(p.isa, s.n, s.k)));
      for (int i = 0; i < s.m; ++i)
        for (int j = 0; j < s.n; ++j) {
          const float v = float(q8_dot(p.isa, wp, s.n, s.k, x.data() + i * s.k, j)) * (xs[i] * wsp[j]);
          ASSERT_EQ(v, yref[size_t(i) * s.n + j]) << isa_name(isa) << " " << i << "," << j;
        }
      // Padded columns / k of the packed blob are neutral (zero weight).
      for (int j = s.n; j < round_up(s.n, gemm_q8_col_block(p)); ++j)
        ASSERT_EQ(q8_dot(p.isa, wp, s.n, s.k, x.data(), j), 0) << isa_name(isa);
    }
  }
}

TEST(Packing, F32LayoutsEmulatedMatchSource) {
  const int n = 45, k = 19;
  const auto w = rand_f32(size_t(n) * k, 9);
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx, Isa::Neon}) {
    Aligned blob(gemm_f32_packed_bytes(isa, n, k));
    const PackedF32 p = gemm_f32_pack(isa, w.data(), n, k, k, blob.p);
    const int nr = gemm_f32_col_block(p);
    const float* d = static_cast<const float*>(p.data);
    for (int j = 0; j < round_up(n, nr); ++j)
      for (int q = 0; q < k; ++q) {
        const float got = nr == 1 ? d[size_t(j) * k + q] : d[size_t(j / nr) * k * nr + size_t(q) * nr + j % nr];
        ASSERT_EQ(got, j < n ? w[size_t(j) * k + q] : 0.f) << isa_name(isa);
      }
  }
}

}  // namespace
}  // namespace triage::kernels::test
