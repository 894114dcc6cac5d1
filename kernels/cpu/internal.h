// Internal declarations shared by the dispatchers (gemm.cpp, ops.cpp) and the per-ISA kernel files.
// Not part of the public API: the runtime includes kernels.h only.
//
// ISA files are compiled with their own -m flags. They must not instantiate inline/template code
// with external linkage that other files also use (the linker could keep the AVX-512 copy for a
// scalar caller), so helpers shared between ISA files are `static inline` and STL is avoided there.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/kernels.h"

// 1 where the x86 kernel files (AVX2, AVX-512, VNNI, AMX) are built and may be dispatched to; on other
// architectures (aarch64) only the scalar level exists and the dispatch below never names them.
#if defined(__x86_64__) || defined(_M_X64)
#define TRIAGE_KERNELS_X86 1
#else
#define TRIAGE_KERNELS_X86 0
#endif
// 1 where the NEON kernel files (*_neon.cpp, *_neondot.cpp) are built (aarch64); the Neon layouts can be
// packed anywhere (packing is plain byte reordering in gemm.cpp), run only here.
#if defined(__aarch64__)
#define TRIAGE_KERNELS_NEON 1
#else
#define TRIAGE_KERNELS_NEON 0
#endif

namespace triage::kernels::detail {

// aarch64: the CPU has the dot-product extension (getauxval(AT_HWCAP) & HWCAP_ASIMDDP); cached.
// false elsewhere.
bool neon_dotprod();

static inline int round_up(int v, int m) { return (v + m - 1) / m * m; }
static inline size_t align64(size_t v) { return (v + 63) & ~size_t(63); }

// Packed layouts ----------------------------------------------------------------------------------
// f32 scalar : float [n][k]                                      (col block 1)
// f32 avx2   : float [np/16][k][16], np = round_up(n, 16)        (col block 16)
// f32 avx512 : float [np/32][k][32]                              (col block 32; Vnni/Amx pack this)
// q8 scalar  : int8 [n][k] | f32 scale[n]
// q8 avx2    : s8 [np/16][k4/4][16][4], k4 = round_up(k, 4) | f32 scale[np] (Avx512 packs this)
// q8 vnni    : u8 (w+128) [np/32][k4/4][32][4], k4 = round_up(k, 4) | f32 scale[np]
// q8 amx     : s8 [np/16][k64/4][16][4], np = round_up(n, 32), k64 = round_up(k, 64) | f32 scale[np]
// f32 neon   : float [np/8][k][8], np = round_up(n, 8)           (col block 8)
// q8 neon    : s8 [np/8][k4/4][8][4], k4 = round_up(k, 4) | f32 scale[np]   (col block 8; SDOT and
//              the ARMv8.0 SMULL/SADALP kernel read the same bytes)
Isa f32_layout(Isa isa);
Isa q8_layout(Isa isa);
int f32_nr(Isa layout);
int q8_nr(Isa layout);
// Rows handled per block when the output is quantised (whole rows go through scratch).
int f32_rows_block(Isa layout);
int q8_rows_block(Isa layout);

// The per-ISA GEMM bodies. x, x_scale and y/ldy are already offset to the first row (m0); they
// compute rows [0, rows) and columns [n0, n1). ep.yq is ignored (the dispatcher quantises).
struct GemmOut {
  const float* bias;
  bool gelu;
  bool accumulate;
  float* y;  // row 0 of the call
  int64_t ldy;
};

void gemm_f32_pack_scalar(const float* w, int n, int k, int64_t ldw, float* dst);
void gemm_f32_pack_avx2(const float* w, int n, int k, int64_t ldw, float* dst);
void gemm_f32_pack_avx512(const float* w, int n, int k, int64_t ldw, float* dst);
void gemm_f32_pack_neon(const float* w, int n, int k, int64_t ldw, float* dst);
void gemm_f32_scalar(const float* wp, int n, int k, const float* x, int64_t ldx, const GemmOut& o,
                     int rows, int n0, int n1);
void gemm_f32_6x16_avx2(const float* wp, int n, int k, const float* x, int64_t ldx, const GemmOut& o,
                        int rows, int n0, int n1);
void gemm_f32_12x32_avx512(const float* wp, int n, int k, const float* x, int64_t ldx,
                           const GemmOut& o, int rows, int n0, int n1);
void gemm_f32_8x8_neon(const float* wp, int n, int k, const float* x, int64_t ldx, const GemmOut& o,
                       int rows, int n0, int n1);

void gemm_q8_pack_scalar(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst);
void gemm_q8_pack_avx2(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst);
void gemm_q8_pack_vnni(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst);
void gemm_q8_pack_amx(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst);
void gemm_q8_pack_neon(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst);
size_t gemm_q8_weight_bytes(Isa layout, int n, int k);  // offset of the scales
void gemm_q8_scalar(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                    const float* x_scale, const GemmOut& o, int rows, int n0, int n1);
void gemm_q8_4x16_avx2(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                       const float* x_scale, const GemmOut& o, int rows, int n0, int n1);
void gemm_q8_12x32_avx512vnni(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                              const float* x_scale, const GemmOut& o, int rows, int n0, int n1);
// Neon layout: the ARMv8.0 kernel (any aarch64 CPU) and the SDOT kernel (only where neon_dotprod()).
void gemm_q8_4x8_neon(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                      const float* x_scale, const GemmOut& o, int rows, int n0, int n1);
void gemm_q8_8x8_neondot(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                         const float* x_scale, const GemmOut& o, int rows, int n0, int n1);
// AMX needs scratch for zero-padded A tiles and the int32 C staging (amx_scratch_bytes).
size_t gemm_q8_amx_scratch_bytes(int k);
void gemm_q8_32x32_amx(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                       const float* x_scale, const GemmOut& o, int rows, int n0, int n1,
                       void* scratch);

// Scalar reference helpers (also used by tests through the public API).
float gelu_ref(float v);  // 0.5 v (1 + erf(v / sqrt 2)) with std::erf

void quantize_rows_q8_scalar(const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
                             float* y_scale);
void quantize_rows_q8_avx2(const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
                           float* y_scale);
void layernorm_f32_scalar(const float* x, int64_t ldx, int rows, int dim, const float* g,
                          const float* b, float eps, float* y, int64_t ldy);
void layernorm_f32_avx2(const float* x, int64_t ldx, int rows, int dim, const float* g,
                        const float* b, float eps, float* y, int64_t ldy);
void layernorm_quant_q8_scalar(const float* x, int64_t ldx, int rows, int dim, const float* g,
                               const float* b, float eps, int8_t* y, int64_t ldy, float* y_scale);
void layernorm_quant_q8_avx2(const float* x, int64_t ldx, int rows, int dim, const float* g,
                             const float* b, float eps, int8_t* y, int64_t ldy, float* y_scale);
void gelu_f32_scalar(float* x, size_t n);
void gelu_f32_avx2(float* x, size_t n);
void quantize_rows_q8_neon(const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
                           float* y_scale);
void layernorm_f32_neon(const float* x, int64_t ldx, int rows, int dim, const float* g,
                        const float* b, float eps, float* y, int64_t ldy);
void layernorm_quant_q8_neon(const float* x, int64_t ldx, int rows, int dim, const float* g,
                             const float* b, float eps, int8_t* y, int64_t ldy, float* y_scale);
void gelu_f32_neon(float* x, size_t n);

size_t attention_scratch_floats_scalar(int n_tokens, int hd);
size_t attention_scratch_floats_avx2(int n_tokens, int hd);
void attention_f32_scalar(const AttentionArgs& a, int head, int q0, int q1, float* scratch);
void attention_f32_avx2(const AttentionArgs& a, int head, int q0, int q1, float* scratch);
size_t attention_scratch_floats_avx512(int n_tokens, int hd);
void attention_f32_avx512(const AttentionArgs& a, int head, int q0, int q1, float* scratch);
size_t attention_scratch_floats_neon(int n_tokens, int hd);
void attention_f32_neon(const AttentionArgs& a, int head, int q0, int q1, float* scratch);

void conv3x3s2_f32_scalar(const float* in, int h, int w, int cin, int64_t ld_in, const float* wp,
                          const float* bias, int cout, bool relu, float* out, int oy0, int oy1);
void conv3x3s2_f32_avx2(const float* in, int h, int w, int cin, int64_t ld_in, const float* wp,
                        const float* bias, int cout, bool relu, float* out, int oy0, int oy1);

// Resize: per-axis source index/weight (the exact f32 formula of kernels.h).
struct ResizeAxis {
  int i0, i1;
  float t;
};
ResizeAxis resize_axis(int d, int n, int S);
size_t resize_scratch_floats_avx2(int w, int channels, int out_size);
void resize_normalize_u8_scalar(const uint8_t* img, int h, int w, int c, int64_t rs,
                                const ResizeNorm& p, float* out, int oy0, int oy1);
void resize_normalize_u16_scalar(const uint16_t* img, int h, int w, int c, int64_t rs,
                                 const ResizeNorm& p, float* out, int oy0, int oy1);
void resize_normalize_u8_avx2(const uint8_t* img, int h, int w, int c, int64_t rs,
                              const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch);
void resize_normalize_u16_avx2(const uint16_t* img, int h, int w, int c, int64_t rs,
                               const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch);
size_t resize_scratch_floats_neon(int w, int channels, int out_size);
void resize_normalize_u8_neon(const uint8_t* img, int h, int w, int c, int64_t rs,
                              const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch);
void resize_normalize_u16_neon(const uint16_t* img, int h, int w, int c, int64_t rs,
                               const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch);

}  // namespace triage::kernels::detail
