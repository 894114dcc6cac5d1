// GEMM front end: packed sizes, packing (pure byte reordering, ISA-independent code), dispatch on
// the packed layout, and the quantised-output path (whole row blocks through f32, then per-token
// quantisation).
#include <cstring>

#include "kernels/cpu/internal.h"

namespace triage::kernels {
namespace detail {

// Every level is named (no rank comparisons: Neon is not "above" the x86 levels).
Isa f32_layout(Isa isa) {
  switch (isa) {
    case Isa::Avx2: return Isa::Avx2;
    case Isa::Avx512:
    case Isa::Avx512Vnni:
    case Isa::Amx: return Isa::Avx512;
    case Isa::Neon: return Isa::Neon;
    case Isa::Scalar: break;
  }
  return Isa::Scalar;
}
Isa q8_layout(Isa isa) {
  switch (isa) {
    case Isa::Avx2:
    case Isa::Avx512: return Isa::Avx2;
    case Isa::Avx512Vnni: return Isa::Avx512Vnni;
    case Isa::Amx: return Isa::Amx;
    case Isa::Neon: return Isa::Neon;
    case Isa::Scalar: break;
  }
  return Isa::Scalar;
}
int f32_nr(Isa layout) {
  switch (layout) {
    case Isa::Avx2: return 16;
    case Isa::Avx512: return 32;
    case Isa::Neon: return 8;
    default: return 1;
  }
}
int q8_nr(Isa layout) {
  switch (layout) {
    case Isa::Avx2: return 16;
    case Isa::Avx512Vnni: return 32;
    case Isa::Amx: return 32;
    case Isa::Neon: return 8;
    default: return 1;
  }
}
int f32_rows_block(Isa layout) { return layout == Isa::Scalar ? 1 : 24; }
int q8_rows_block(Isa layout) {
  return layout == Isa::Scalar ? 1 : layout == Isa::Amx ? 32 : 24;
}

static int q8_np(Isa layout, int n) { return round_up(n, q8_nr(layout)); }

size_t gemm_q8_weight_bytes(Isa layout, int n, int k) {
  switch (layout) {
    case Isa::Scalar: return size_t(n) * k;
    case Isa::Avx2: return size_t(round_up(n, 16)) * round_up(k, 4);
    case Isa::Avx512Vnni: return size_t(round_up(n, 32)) * round_up(k, 4);
    case Isa::Amx: return size_t(round_up(n, 32)) * round_up(k, 64);
    case Isa::Neon: return size_t(round_up(n, 8)) * round_up(k, 4);
    default: return 0;
  }
}

void gemm_f32_pack_scalar(const float* w, int n, int k, int64_t ldw, float* dst) {
  for (int j = 0; j < n; ++j) std::memcpy(dst + size_t(j) * k, w + j * ldw, sizeof(float) * k);
}

// [np/nr][k][nr], zero-padded columns.
static void pack_f32_panels(const float* w, int n, int k, int64_t ldw, int nr, float* dst) {
  const int np = round_up(n, nr);
  for (int jb = 0; jb < np; jb += nr)
    for (int kk = 0; kk < k; ++kk)
      for (int c = 0; c < nr; ++c) {
        const int j = jb + c;
        *dst++ = j < n ? w[j * ldw + kk] : 0.f;
      }
}
void gemm_f32_pack_avx2(const float* w, int n, int k, int64_t ldw, float* dst) {
  pack_f32_panels(w, n, k, ldw, 16, dst);
}
void gemm_f32_pack_avx512(const float* w, int n, int k, int64_t ldw, float* dst) {
  pack_f32_panels(w, n, k, ldw, 32, dst);
}
void gemm_f32_pack_neon(const float* w, int n, int k, int64_t ldw, float* dst) {
  pack_f32_panels(w, n, k, ldw, 8, dst);
}

static void copy_scales(const float* s, int n, int np, float* dst) {
  for (int j = 0; j < np; ++j) dst[j] = j < n ? s[j] : 0.f;
}

void gemm_q8_pack_scalar(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst) {
  for (int j = 0; j < n; ++j) std::memcpy(dst + size_t(j) * k, w + j * ldw, k);
  copy_scales(s, n, n, reinterpret_cast<float*>(dst + align64(gemm_q8_weight_bytes(Isa::Scalar, n, k))));
}

// s8 k-quads [np/nr][k4/4][nr][4], zero-padded columns and k.
static void pack_q8_quads(const int8_t* w, int n, int k, int64_t ldw, int nr, int8_t* o) {
  const int np = round_up(n, nr), k4 = round_up(k, 4);
  for (int jb = 0; jb < np; jb += nr)
    for (int kk = 0; kk < k4; kk += 4)
      for (int c = 0; c < nr; ++c)
        for (int u = 0; u < 4; ++u) {
          const int j = jb + c, q = kk + u;
          *o++ = (j < n && q < k) ? w[j * ldw + q] : int8_t(0);
        }
}

void gemm_q8_pack_avx2(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst) {
  pack_q8_quads(w, n, k, ldw, 16, reinterpret_cast<int8_t*>(dst));
  copy_scales(s, n, round_up(n, 16), reinterpret_cast<float*>(dst + align64(gemm_q8_weight_bytes(Isa::Avx2, n, k))));
}

void gemm_q8_pack_neon(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst) {
  pack_q8_quads(w, n, k, ldw, 8, reinterpret_cast<int8_t*>(dst));
  copy_scales(s, n, round_up(n, 8), reinterpret_cast<float*>(dst + align64(gemm_q8_weight_bytes(Isa::Neon, n, k))));
}

void gemm_q8_pack_vnni(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst) {
  const int np = round_up(n, 32), k4 = round_up(k, 4);
  uint8_t* o = dst;
  for (int jb = 0; jb < np; jb += 32)
    for (int kk = 0; kk < k4; kk += 4)
      for (int c = 0; c < 32; ++c)
        for (int u = 0; u < 4; ++u) {
          const int j = jb + c, q = kk + u;
          const int v = (j < n && q < k) ? w[j * ldw + q] : 0;
          *o++ = uint8_t(v + 128);  // u8 operand of vpdpbusd; corrected by 128 * rowsum(x)
        }
  copy_scales(s, n, np, reinterpret_cast<float*>(dst + align64(gemm_q8_weight_bytes(Isa::Avx512Vnni, n, k))));
}

void gemm_q8_pack_amx(const int8_t* w, const float* s, int n, int k, int64_t ldw, uint8_t* dst) {
  const int np = round_up(n, 32), k64 = round_up(k, 64);
  int8_t* o = reinterpret_cast<int8_t*>(dst);
  for (int jb = 0; jb < np; jb += 16)
    for (int kk = 0; kk < k64; kk += 4)
      for (int c = 0; c < 16; ++c)
        for (int u = 0; u < 4; ++u) {
          const int j = jb + c, q = kk + u;
          *o++ = (j < n && q < k) ? w[j * ldw + q] : int8_t(0);
        }
  copy_scales(s, n, np, reinterpret_cast<float*>(dst + align64(gemm_q8_weight_bytes(Isa::Amx, n, k))));
}

}  // namespace detail

using namespace detail;

// f32 -------------------------------------------------------------------------------------------
size_t gemm_f32_packed_bytes(Isa isa, int n, int k) {
  const Isa l = f32_layout(isa);
  return align64(size_t(round_up(n, f32_nr(l))) * k * sizeof(float));
}

PackedF32 gemm_f32_pack(Isa isa, const float* w, int n, int k, int64_t ldw, void* dst) {
  PackedF32 p;
  p.isa = f32_layout(isa);
  p.n = n;
  p.k = k;
  p.data = dst;
  float* d = static_cast<float*>(dst);
  switch (p.isa) {
    case Isa::Avx2: gemm_f32_pack_avx2(w, n, k, ldw, d); break;
    case Isa::Avx512: gemm_f32_pack_avx512(w, n, k, ldw, d); break;
    case Isa::Neon: gemm_f32_pack_neon(w, n, k, ldw, d); break;
    default: gemm_f32_pack_scalar(w, n, k, ldw, d); break;
  }
  return p;
}

int gemm_f32_col_block(const PackedF32& w) { return f32_nr(w.isa); }

size_t gemm_f32_scratch_floats(const PackedF32& w) {
  return size_t(f32_rows_block(w.isa)) * round_up(w.n, f32_nr(w.isa));
}

static void gemm_f32_rows(const PackedF32& w, const float* x, int64_t ldx, const GemmOut& o, int rows,
                          int n0, int n1) {
  const float* wp = static_cast<const float*>(w.data);
  switch (w.isa) {
#if TRIAGE_KERNELS_X86
    case Isa::Avx2: gemm_f32_6x16_avx2(wp, w.n, w.k, x, ldx, o, rows, n0, n1); break;
    case Isa::Avx512: gemm_f32_12x32_avx512(wp, w.n, w.k, x, ldx, o, rows, n0, n1); break;
#endif
#if TRIAGE_KERNELS_NEON
    case Isa::Neon: gemm_f32_8x8_neon(wp, w.n, w.k, x, ldx, o, rows, n0, n1); break;
#endif
    // Scalar; a layout this architecture does not build is never selected here (select_isa), and
    // running a blob packed for one is not allowed (kernels.h).
    default: gemm_f32_scalar(wp, w.n, w.k, x, ldx, o, rows, n0, n1); break;
  }
}

// The per-token quantiser of the output: bit-identical on every ISA, so use the best one present
// in the layout's family (AVX2 code runs on every x86 layout above scalar; NEON on the Neon layout).
static Isa quant_isa(Isa layout) {
  switch (layout) {
    case Isa::Avx2:
    case Isa::Avx512:
    case Isa::Avx512Vnni:
    case Isa::Amx: return Isa::Avx2;
    case Isa::Neon: return Isa::Neon;
    case Isa::Scalar: break;
  }
  return Isa::Scalar;
}

void gemm_f32(const PackedF32& w, const float* x, int64_t ldx, const GemmEpilogue& ep, int m0, int m1,
              int n0, int n1, float* scratch) {
  if (m1 <= m0 || n1 <= n0) return;
  GemmOut o{ep.bias, ep.gelu, ep.accumulate, nullptr, ep.ldy};
  if (!ep.yq) {
    o.y = ep.y + m0 * ep.ldy;
    gemm_f32_rows(w, x + m0 * ldx, ldx, o, m1 - m0, n0, n1);
    return;
  }
  const int rb = f32_rows_block(w.isa);
  for (int mb = m0; mb < m1; mb += rb) {
    const int rows = m1 - mb < rb ? m1 - mb : rb;
    if (ep.y) {
      o.y = ep.y + mb * ep.ldy;
      o.ldy = ep.ldy;
    } else {
      o.y = scratch;
      o.ldy = w.n;
    }
    gemm_f32_rows(w, x + mb * ldx, ldx, o, rows, 0, w.n);
    quantize_rows_q8(quant_isa(w.isa), o.y, o.ldy, rows, w.n, ep.yq + mb * ep.ldyq, ep.ldyq,
                     ep.yq_scale + mb);
  }
}

// q8 --------------------------------------------------------------------------------------------
size_t gemm_q8_packed_bytes(Isa isa, int n, int k) {
  const Isa l = q8_layout(isa);
  return align64(gemm_q8_weight_bytes(l, n, k)) + align64(sizeof(float) * q8_np(l, n));
}

PackedQ8 gemm_q8_pack(Isa isa, const int8_t* w, const float* w_scale, int n, int k, int64_t ldw,
                      void* dst) {
  PackedQ8 p;
  p.isa = q8_layout(isa);
  p.n = n;
  p.k = k;
  p.data = dst;
  uint8_t* d = static_cast<uint8_t*>(dst);
  switch (p.isa) {
    case Isa::Avx2: gemm_q8_pack_avx2(w, w_scale, n, k, ldw, d); break;
    case Isa::Avx512Vnni: gemm_q8_pack_vnni(w, w_scale, n, k, ldw, d); break;
    case Isa::Amx: gemm_q8_pack_amx(w, w_scale, n, k, ldw, d); break;
    case Isa::Neon: gemm_q8_pack_neon(w, w_scale, n, k, ldw, d); break;
    default: gemm_q8_pack_scalar(w, w_scale, n, k, ldw, d); break;
  }
  return p;
}

int gemm_q8_col_block(const PackedQ8& w) { return q8_nr(w.isa); }

size_t gemm_q8_scratch_floats(const PackedQ8& w) {
  size_t f = size_t(q8_rows_block(w.isa)) * q8_np(w.isa, w.n);
#if TRIAGE_KERNELS_X86
  if (w.isa == Isa::Amx) f += (gemm_q8_amx_scratch_bytes(w.k) + 3) / 4 + 16;  // + 64 B alignment
#endif
  return f;
}

static void gemm_q8_rows(const PackedQ8& w, const int8_t* x, int64_t ldx, const float* xs,
                         const GemmOut& o, int rows, int n0, int n1, void* amx_scratch) {
  const uint8_t* wp = static_cast<const uint8_t*>(w.data);
  switch (w.isa) {
#if TRIAGE_KERNELS_X86
    case Isa::Avx2: gemm_q8_4x16_avx2(wp, w.n, w.k, x, ldx, xs, o, rows, n0, n1); break;
    case Isa::Avx512Vnni: gemm_q8_12x32_avx512vnni(wp, w.n, w.k, x, ldx, xs, o, rows, n0, n1); break;
    case Isa::Amx: gemm_q8_32x32_amx(wp, w.n, w.k, x, ldx, xs, o, rows, n0, n1, amx_scratch); break;
#endif
#if TRIAGE_KERNELS_NEON
    case Isa::Neon:
      if (neon_dotprod()) gemm_q8_8x8_neondot(wp, w.n, w.k, x, ldx, xs, o, rows, n0, n1);
      else gemm_q8_4x8_neon(wp, w.n, w.k, x, ldx, xs, o, rows, n0, n1);
      break;
#endif
    // See gemm_f32_rows.
    default: gemm_q8_scalar(wp, w.n, w.k, x, ldx, xs, o, rows, n0, n1); break;
  }
}

void gemm_q8(const PackedQ8& w, const int8_t* x, int64_t ldx, const float* x_scale,
             const GemmEpilogue& ep, int m0, int m1, int n0, int n1, float* scratch) {
  if (m1 <= m0 || n1 <= n0) return;
  // AMX staging lives after the row block, 64-byte aligned.
  void* amx = nullptr;
  if (w.isa == Isa::Amx) {
    uintptr_t p = reinterpret_cast<uintptr_t>(scratch + size_t(q8_rows_block(w.isa)) * q8_np(w.isa, w.n));
    amx = reinterpret_cast<void*>((p + 63) & ~uintptr_t(63));
  }
  GemmOut o{ep.bias, ep.gelu, ep.accumulate, nullptr, ep.ldy};
  if (!ep.yq) {
    o.y = ep.y + m0 * ep.ldy;
    gemm_q8_rows(w, x + m0 * ldx, ldx, x_scale + m0, o, m1 - m0, n0, n1, amx);
    return;
  }
  const int rb = q8_rows_block(w.isa);
  for (int mb = m0; mb < m1; mb += rb) {
    const int rows = m1 - mb < rb ? m1 - mb : rb;
    if (ep.y) {
      o.y = ep.y + mb * ep.ldy;
      o.ldy = ep.ldy;
    } else {
      o.y = scratch;
      o.ldy = w.n;
    }
    gemm_q8_rows(w, x + mb * ldx, ldx, x_scale + mb, o, rows, 0, w.n, amx);
    quantize_rows_q8(quant_isa(w.isa), o.y, o.ldy, rows, w.n, ep.yq + mb * ep.ldyq, ep.ldyq,
                     ep.yq_scale + mb);
  }
}

}  // namespace triage::kernels
