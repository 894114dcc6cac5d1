// A scalar model of the AMX tile semantics the AMX kernel uses (Intel SDM vol. 2, LDTILECFG, TILELOADD,
// TILESTORED, TILEZERO, TDPBSSD, TILERELEASE), for the emulated test build only (simd_emulated_avx512.h):
//   - palette 1: 8 tiles (tmm0-7) of up to 16 rows x 64 bytes; the config sets rows[t] and colsb[t];
//     ldtilecfg with a palette other than 0/1, rows > 16, colsb > 64 or a non-zero reserved/start_row
//     byte faults (#GP): modelled as a recorded fault (tile_model_fault()) and the instruction ignored;
//   - every tile instruction before a valid ldtilecfg (or after tilerelease) faults (#UD) likewise;
//   - tileloadd t, [base + row * stride]: rows[t] rows of colsb[t] bytes; bytes past colsb are zeroed;
//   - tdpbssd c, a, b: C[m][n] += sum_{k < colsb[a]/4} sum_{i<4} s8(A[m][4k+i]) * s8(B[k][4n+i])
//     (int32, wrapping), shapes checked: rows[c] == rows[a], colsb[c] == colsb[b], rows[b] == colsb[a]/4;
//   - tilestored writes rows[t] rows of colsb[t] bytes.
// State is per thread (as the hardware's is per logical core).
#pragma once

#include <cstdint>
#include <cstring>

namespace triage::kernels::amx_model {

struct Cfg {
  uint8_t palette = 0, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(Cfg) == 64);

struct State {
  bool configured = false;
  Cfg cfg;
  alignas(64) uint8_t t[8][16][64] = {};
  int faults = 0;       // instructions that would have faulted (#GP / #UD)
  long executed = 0;    // tile instructions executed (tests check the model really ran)
};

inline State& state() {
  static thread_local State s;
  return s;
}
inline int tile_model_fault_count() { return state().faults; }
inline long tile_model_executed() { return state().executed; }
inline void tile_model_reset() { state() = State{}; }

inline bool usable(int tile) {
  State& s = state();
  if (!s.configured || tile < 0 || tile > 7) {
    ++s.faults;
    return false;
  }
  ++s.executed;
  return true;
}

inline void loadconfig(const void* p) {
  State& s = state();
  Cfg c;
  std::memcpy(&c, p, sizeof c);
  bool ok = c.palette <= 1 && c.start_row == 0;
  for (uint8_t r : c.reserved) ok = ok && r == 0;
  for (int i = 0; i < 16; ++i) {
    const bool exists = i < 8;
    ok = ok && c.rows[i] <= (exists ? 16 : 0) && c.colsb[i] <= (exists ? 64 : 0);
  }
  if (!ok) {
    ++s.faults;
    return;
  }
  ++s.executed;
  s.cfg = c;
  s.configured = c.palette == 1;  // palette 0 = init state (tiles unusable)
  std::memset(s.t, 0, sizeof s.t);
}

inline void release() {
  State& s = state();
  ++s.executed;
  s.configured = false;
  s.cfg = Cfg{};
  std::memset(s.t, 0, sizeof s.t);
}

inline void zero(int t) {
  if (!usable(t)) return;
  std::memset(state().t[t], 0, sizeof state().t[t]);
}

inline void loadd(int t, const void* base, long long stride) {
  if (!usable(t)) return;
  State& s = state();
  const auto* b = static_cast<const uint8_t*>(base);
  std::memset(s.t[t], 0, sizeof s.t[t]);
  for (int r = 0; r < s.cfg.rows[t]; ++r) std::memcpy(s.t[t][r], b + r * stride, s.cfg.colsb[t]);
}

inline void stored(int t, void* base, long long stride) {
  if (!usable(t)) return;
  State& s = state();
  auto* b = static_cast<uint8_t*>(base);
  for (int r = 0; r < s.cfg.rows[t]; ++r) std::memcpy(b + r * stride, s.t[t][r], s.cfg.colsb[t]);
}

inline void dpbssd(int c, int a, int b) {
  if (!usable(c) || !usable(a) || !usable(b)) return;
  State& s = state();
  const Cfg& g = s.cfg;
  if (g.rows[c] != g.rows[a] || g.colsb[c] != g.colsb[b] || g.rows[b] * 4 != g.colsb[a] || g.colsb[c] % 4) {
    ++s.faults;
    return;
  }
  const int M = g.rows[c], N = g.colsb[c] / 4, K = g.colsb[a] / 4;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      int32_t acc;
      std::memcpy(&acc, &s.t[c][m][4 * n], 4);
      uint32_t u = static_cast<uint32_t>(acc);  // wrapping int32 accumulation, as the hardware
      for (int k = 0; k < K; ++k)
        for (int i = 0; i < 4; ++i)
          u += static_cast<uint32_t>(int32_t(int8_t(s.t[a][m][4 * k + i])) * int32_t(int8_t(s.t[b][k][4 * n + i])));
      acc = static_cast<int32_t>(u);
      std::memcpy(&s.t[c][m][4 * n], &acc, 4);
    }
}

}  // namespace triage::kernels::amx_model

// The intrinsic names the AMX kernel is written with. GCC's <immintrin.h> (pulled in through SIMDe)
// defines the macro forms of the tile intrinsics too: drop those first, the model replaces them.
#undef _tile_zero
#undef _tile_loadd
#undef _tile_stored
#undef _tile_dpbssd
#define _tile_loadconfig(p) ::triage::kernels::amx_model::loadconfig(p)
#define _tile_release() ::triage::kernels::amx_model::release()
#define _tile_zero(t) ::triage::kernels::amx_model::zero(t)
#define _tile_loadd(t, base, stride) ::triage::kernels::amx_model::loadd(t, base, stride)
#define _tile_stored(t, base, stride) ::triage::kernels::amx_model::stored(t, base, stride)
#define _tile_dpbssd(c, a, b) ::triage::kernels::amx_model::dpbssd(c, a, b)
