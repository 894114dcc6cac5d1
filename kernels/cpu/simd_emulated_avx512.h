// The CI emulation seam of the AVX-512 / VNNI / AMX kernel files (issue 15): when those files are built
// with TRIAGE_SIMD_EMULATED (tests/kernels/emulated, a second build of the very same sources), their
// intrinsics come from SIMDe (portable implementations of _mm512_*, incl. _mm512_dpbusd_epi32) and the
// AMX tile instructions from the scalar tile model (amx_tile_model.h), so they execute, and are tested
// against the scalar references, on a CPU without those units. Never part of libtriage.
#pragma once

#ifndef TRIAGE_SIMD_EMULATED
#error "simd_emulated_avx512.h is only for the emulated test build"
#endif

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <cstdint>

#include "kernels/cpu/amx_tile_model.h"

// The four intrinsics the kernels use that SIMDe 0.7.4 (Debian 12) lacks, written here from the
// Intel intrinsics guide's definitions (element loops; the masked ones never touch unselected memory).
namespace triage::kernels::emulated {
static inline simde__m512 cvtepi32_ps(simde__m512i a) {
  alignas(64) int32_t i[16];
  alignas(64) float f[16];
  simde_mm512_store_si512(i, a);
  for (int e = 0; e < 16; ++e) f[e] = static_cast<float>(i[e]);  // round to nearest even, as CVTDQ2PS
  return simde_mm512_load_ps(f);
}
static inline int32_t reduce_add_epi32(simde__m512i a) {
  alignas(64) int32_t i[16];
  simde_mm512_store_si512(i, a);
  uint32_t s = 0;  // wrapping, as the vector adds
  for (int e = 0; e < 16; ++e) s += static_cast<uint32_t>(i[e]);
  return static_cast<int32_t>(s);
}
static inline simde__m512 maskz_loadu_ps(simde__mmask16 k, const void* p) {
  alignas(64) float f[16] = {};
  for (int e = 0; e < 16; ++e)
    if (k >> e & 1) f[e] = static_cast<const float*>(p)[e];
  return simde_mm512_load_ps(f);
}
static inline void mask_storeu_ps(void* p, simde__mmask16 k, simde__m512 v) {
  alignas(64) float f[16];
  simde_mm512_store_ps(f, v);
  for (int e = 0; e < 16; ++e)
    if (k >> e & 1) static_cast<float*>(p)[e] = f[e];
}
}  // namespace triage::kernels::emulated
#define _mm512_cvtepi32_ps(a) ::triage::kernels::emulated::cvtepi32_ps(a)
#define _mm512_reduce_add_epi32(a) ::triage::kernels::emulated::reduce_add_epi32(a)
#define _mm512_maskz_loadu_ps(k, p) ::triage::kernels::emulated::maskz_loadu_ps(k, p)
#define _mm512_mask_storeu_ps(p, k, v) ::triage::kernels::emulated::mask_storeu_ps(p, k, v)
