// Dispatch of the non-GEMM ops. Every level is named: the x86 levels above scalar use the AVX2 kernels,
// except attention, which has an AVX-512 kernel (the same bits as the AVX2 one) at the AVX-512 levels;
// Neon uses the NEON kernels where one exists (the stem convolution stays scalar there), Scalar the
// references.
// No rank comparison (>=): Neon must never reach an x86 kernel.
#include "kernels/cpu/internal.h"

namespace triage::kernels {
using namespace detail;

// Levels whose non-GEMM ops are the AVX2 kernels (only where they are built).
[[maybe_unused]] static bool avx2(Isa isa) {
#if TRIAGE_KERNELS_X86
  switch (isa) {
    case Isa::Avx2:
    case Isa::Avx512:
    case Isa::Avx512Vnni:
    case Isa::Amx: return true;
    case Isa::Scalar:
    case Isa::Neon: return false;
  }
#endif
  (void)isa;
  return false;
}

// The Neon level (only where the NEON kernels are built).
[[maybe_unused]] static bool neon(Isa isa) { return TRIAGE_KERNELS_NEON && isa == Isa::Neon; }

void quantize_rows_q8(Isa isa, const float* x, int64_t ldx, int rows, int dim, int8_t* y,
                      int64_t ldy, float* y_scale) {
#if TRIAGE_KERNELS_X86
  if (avx2(isa)) return quantize_rows_q8_avx2(x, ldx, rows, dim, y, ldy, y_scale);
#endif
#if TRIAGE_KERNELS_NEON
  if (neon(isa)) return quantize_rows_q8_neon(x, ldx, rows, dim, y, ldy, y_scale);
#endif
  quantize_rows_q8_scalar(x, ldx, rows, dim, y, ldy, y_scale);
}

void layernorm_f32(Isa isa, const float* x, int64_t ldx, int rows, int dim, const float* gamma,
                   const float* beta, float eps, float* y, int64_t ldy) {
#if TRIAGE_KERNELS_X86
  if (avx2(isa)) return layernorm_f32_avx2(x, ldx, rows, dim, gamma, beta, eps, y, ldy);
#endif
#if TRIAGE_KERNELS_NEON
  if (neon(isa)) return layernorm_f32_neon(x, ldx, rows, dim, gamma, beta, eps, y, ldy);
#endif
  layernorm_f32_scalar(x, ldx, rows, dim, gamma, beta, eps, y, ldy);
}

void layernorm_quant_q8(Isa isa, const float* x, int64_t ldx, int rows, int dim, const float* gamma,
                        const float* beta, float eps, int8_t* y, int64_t ldy, float* y_scale) {
#if TRIAGE_KERNELS_X86
  if (avx2(isa)) return layernorm_quant_q8_avx2(x, ldx, rows, dim, gamma, beta, eps, y, ldy, y_scale);
#endif
#if TRIAGE_KERNELS_NEON
  if (neon(isa)) return layernorm_quant_q8_neon(x, ldx, rows, dim, gamma, beta, eps, y, ldy, y_scale);
#endif
  layernorm_quant_q8_scalar(x, ldx, rows, dim, gamma, beta, eps, y, ldy, y_scale);
}

void gelu_f32(Isa isa, float* x, size_t n) {
#if TRIAGE_KERNELS_X86
  if (avx2(isa)) return gelu_f32_avx2(x, n);
#endif
#if TRIAGE_KERNELS_NEON
  if (neon(isa)) return gelu_f32_neon(x, n);
#endif
  gelu_f32_scalar(x, n);
}

// The levels with AVX-512 (only where those kernels are built).
[[maybe_unused]] static bool avx512(Isa isa) {
#if TRIAGE_KERNELS_X86
  switch (isa) {
    case Isa::Avx512:
    case Isa::Avx512Vnni:
    case Isa::Amx: return true;
    case Isa::Avx2:
    case Isa::Scalar:
    case Isa::Neon: return false;
  }
#endif
  (void)isa;
  return false;
}

[[maybe_unused]] static bool attn_avx512(Isa isa, int head_dim) { return avx512(isa) && head_dim % 16 == 0; }
[[maybe_unused]] static bool attn_avx2(Isa isa, int head_dim) { return avx2(isa) && head_dim % 8 == 0; }
[[maybe_unused]] static bool attn_neon(Isa isa, int head_dim) { return neon(isa) && head_dim % 4 == 0; }

size_t attention_scratch_floats(Isa isa, int n_tokens, int head_dim) {
#if TRIAGE_KERNELS_X86
  if (attn_avx512(isa, head_dim)) return attention_scratch_floats_avx512(n_tokens, head_dim);
  if (attn_avx2(isa, head_dim)) return attention_scratch_floats_avx2(n_tokens, head_dim);
#endif
#if TRIAGE_KERNELS_NEON
  if (attn_neon(isa, head_dim)) return attention_scratch_floats_neon(n_tokens, head_dim);
#endif
  return attention_scratch_floats_scalar(n_tokens, head_dim);
}

void attention_f32(Isa isa, const AttentionArgs& a, int head, int q0, int q1, float* scratch) {
  if (q1 <= q0) return;
#if TRIAGE_KERNELS_X86
  if (attn_avx512(isa, a.dim / a.heads)) return attention_f32_avx512(a, head, q0, q1, scratch);
  if (attn_avx2(isa, a.dim / a.heads)) return attention_f32_avx2(a, head, q0, q1, scratch);
#endif
#if TRIAGE_KERNELS_NEON
  if (attn_neon(isa, a.dim / a.heads)) return attention_f32_neon(a, head, q0, q1, scratch);
#endif
  attention_f32_scalar(a, head, q0, q1, scratch);
}

void conv3x3s2_f32(Isa isa, const float* in, int h, int w, int cin, int64_t ld_in,
                   const float* w_packed, const float* bias, int cout, bool relu, float* out,
                   int oy0, int oy1) {
#if TRIAGE_KERNELS_X86
  if (avx2(isa)) return conv3x3s2_f32_avx2(in, h, w, cin, ld_in, w_packed, bias, cout, relu, out, oy0, oy1);
#endif
  conv3x3s2_f32_scalar(in, h, w, cin, ld_in, w_packed, bias, cout, relu, out, oy0, oy1);
}

size_t resize_scratch_floats(Isa isa, int w, int channels, int out_size) {
#if TRIAGE_KERNELS_X86
  if (avx2(isa)) return resize_scratch_floats_avx2(w, channels, out_size);
#endif
#if TRIAGE_KERNELS_NEON
  if (neon(isa)) return resize_scratch_floats_neon(w, channels, out_size);
#endif
  (void)isa, (void)w, (void)channels, (void)out_size;
  return 0;
}

void resize_normalize_u8(Isa isa, const uint8_t* img, int h, int w, int channels, int64_t row_stride,
                         const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch) {
#if TRIAGE_KERNELS_X86
  if (avx2(isa)) return resize_normalize_u8_avx2(img, h, w, channels, row_stride, p, out, oy0, oy1, scratch);
#endif
#if TRIAGE_KERNELS_NEON
  if (neon(isa)) return resize_normalize_u8_neon(img, h, w, channels, row_stride, p, out, oy0, oy1, scratch);
#endif
  resize_normalize_u8_scalar(img, h, w, channels, row_stride, p, out, oy0, oy1);
}

void resize_normalize_u16(Isa isa, const uint16_t* img, int h, int w, int channels,
                          int64_t row_stride, const ResizeNorm& p, float* out, int oy0, int oy1,
                          float* scratch) {
#if TRIAGE_KERNELS_X86
  if (avx2(isa)) return resize_normalize_u16_avx2(img, h, w, channels, row_stride, p, out, oy0, oy1, scratch);
#endif
#if TRIAGE_KERNELS_NEON
  if (neon(isa)) return resize_normalize_u16_neon(img, h, w, channels, row_stride, p, out, oy0, oy1, scratch);
#endif
  resize_normalize_u16_scalar(img, h, w, channels, row_stride, p, out, oy0, oy1);
}

}  // namespace triage::kernels
