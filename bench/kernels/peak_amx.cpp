// AMX-INT8 peak: 4 C tiles, A/B tiles loaded once, tdpbssd in a register-only loop.
#include <immintrin.h>

#include <cstring>

#include "bench/kernels/peak.h"

namespace triage::bench {

double peak_amx(int64_t iters) {
  struct alignas(64) Cfg {
    uint8_t palette, start;
    uint8_t res[14];
    uint16_t colsb[16];
    uint8_t rows[16];
  } cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.palette = 1;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  alignas(64) static int8_t buf[16 * 64];
  std::memset(buf, 1, sizeof(buf));
  _tile_loadconfig(&cfg);
  _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
  _tile_loadd(4, buf, 64); _tile_loadd(5, buf, 64); _tile_loadd(6, buf, 64); _tile_loadd(7, buf, 64);
  for (int64_t it = 0; it < iters; ++it) {
    _tile_dpbssd(0, 4, 6);
    _tile_dpbssd(1, 4, 7);
    _tile_dpbssd(2, 5, 6);
    _tile_dpbssd(3, 5, 7);
  }
  alignas(64) static int32_t out[16 * 16];
  _tile_stored(0, out, 64);
  _tile_release();
  volatile int sink = out[0];
  (void)sink;
  return double(iters) * 4 * 16 * 16 * 64 * 2;
}

}  // namespace triage::bench
