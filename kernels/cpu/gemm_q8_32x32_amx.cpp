// q8 GEMM, AMX-INT8: 32x32 output block = 2x2 int32 C tiles (tmm0-3), A tiles 16 rows x 64 int8
// (tmm4-5), B tiles 16 k-quads x 16 columns x 4 (tmm6-7), TDPBSSD (s8 x s8, int32 accumulation:
// exact, no correction needed). Weights packed [n/16][k64/4][16][4] (k zero-padded to 64).
// Rows of x are read in place when a block is whole (32 rows, k % 64 == 0); otherwise they are
// copied zero-padded into caller scratch. The C tiles go through a 4 KB int32 staging buffer to
// the same AVX-512 epilogue as the VNNI kernel.
// The caller (detect_isa) has obtained the Linux XTILEDATA permission; tile config is loaded and
// released per call (threads each load their own).
#include <cstring>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx512.h"

namespace triage::kernels::detail {
namespace {

struct alignas(64) TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

}  // namespace

size_t gemm_q8_amx_scratch_bytes(int k) { return size_t(32) * round_up(k, 64) + 32 * 32 * 4; }

void gemm_q8_32x32_amx(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                       const float* x_scale, const GemmOut& o, int rows, int n0, int n1,
                       void* scratch) {
  const int k64 = round_up(k, 64);
  const int8_t* w = reinterpret_cast<const int8_t*>(wp);
  const float* ws = reinterpret_cast<const float*>(wp + align64(gemm_q8_weight_bytes(Isa::Amx, n, k)));
  const size_t panel16 = size_t(k64) * 16;  // bytes of one 16-column panel
  int8_t* abuf = static_cast<int8_t*>(scratch);
  int32_t* cbuf = reinterpret_cast<int32_t*>(abuf + size_t(32) * k64);

  TileConfig cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.palette_id = 1;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  _tile_loadconfig(&cfg);

  for (int r = 0; r < rows; r += 32) {
    const int mr = rows - r < 32 ? rows - r : 32;
    const int8_t* a;
    int64_t lda;
    if (mr == 32 && k == k64) {
      a = x + r * ldx;
      lda = ldx;
    } else {
      for (int i = 0; i < 32; ++i) {
        int8_t* dst = abuf + size_t(i) * k64;
        if (i < mr) {
          std::memcpy(dst, x + (r + i) * ldx, size_t(k));
          std::memset(dst + k, 0, size_t(k64 - k));
        } else {
          std::memset(dst, 0, size_t(k64));
        }
      }
      a = abuf;
      lda = k64;
    }
    for (int j = n0; j < n1; j += 32) {
      const int8_t* b0 = w + size_t(j / 16) * panel16;
      const int8_t* b1 = b0 + panel16;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int kc = 0; kc < k64; kc += 64) {
        _tile_loadd(4, a + kc, lda);
        _tile_loadd(5, a + 16 * lda + kc, lda);
        _tile_loadd(6, b0 + size_t(kc) * 16, 64);
        _tile_loadd(7, b1 + size_t(kc) * 16, 64);
        _tile_dpbssd(0, 4, 6);
        _tile_dpbssd(1, 4, 7);
        _tile_dpbssd(2, 5, 6);
        _tile_dpbssd(3, 5, 7);
      }
      _tile_stored(0, cbuf, 128);
      _tile_stored(1, cbuf + 16, 128);
      _tile_stored(2, cbuf + 16 * 32, 128);
      _tile_stored(3, cbuf + 16 * 32 + 16, 128);
      const int nv = n1 - j < 32 ? n1 - j : 32;
      for (int i = 0; i < mr; ++i) {
        float* yr = o.y + (r + i) * o.ldy;
        const float xs = x_scale[r + i];
        store16(dequant16(_mm512_loadu_si512(cbuf + i * 32), xs, ws, j), o, j, yr, nv);
        if (nv > 16) store16(dequant16(_mm512_loadu_si512(cbuf + i * 32 + 16), xs, ws, j + 16), o, j + 16, yr, nv - 16);
      }
    }
  }
  _tile_release();
}

}  // namespace triage::kernels::detail
