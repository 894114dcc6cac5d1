// triage CPU kernels: the one header the runtime codes the forward pass against.
//
// Rules every kernel here follows:
// - No allocation, no exceptions, no global state after isa detection (thread-safe).
//   Scratch comes from the caller; sizes are reported by *_scratch_* functions.
// - Deterministic: an output element's value never depends on how the caller splits rows/columns/
//   queries across calls or threads (each element has one fixed reduction order per ISA).
// - Every op has a scalar reference (plain loops) that the fast ISA variants are tested against.
//   Results across ISAs differ only by float reordering (f32: FMA vs mul+add) and, with GELU, the
//   vectorised erf (|err| <= 3.5e-7 abs, measured 3.3e-7 near |x| = 3.9; test GeluErf.MaxError); q8 int32 accumulation
//   is exact on every ISA.
// - Dims are int (>= 1 unless stated); strides ("ld*") are in elements, int64_t.
#pragma once

#include <cstddef>
#include <cstdint>

namespace triage::kernels {

// ---------------------------------------------------------------------------------------------
// Instruction set levels. Two families share Scalar: the x86 chain Scalar < Avx2 < Avx512 <
// Avx512Vnni < Amx (each level implies the lower ones) and the Arm chain Scalar < Neon. The numeric
// values are names, not ranks across families: never compare levels of different families with < / >=
// (isa_implies() is the rule; every dispatcher names its levels explicitly).
enum class Isa : int {
  Scalar = 0,
  Avx2 = 1,        // AVX2 + FMA
  Avx512 = 2,      // AVX-512 F + BW + DQ + VL
  Avx512Vnni = 3,  // + AVX512_VNNI (vpdpbusd)
  Amx = 4,         // + AMX-TILE + AMX-INT8, XCR0 tile state, Linux XTILEDATA permission granted
  Neon = 5,        // aarch64 Advanced SIMD (mandatory in ARMv8-A); the q8 GEMM also uses SDOT where
                   // the CPU has it (HWCAP_ASIMDDP, checked at run time; results identical either way)
};
inline constexpr int kIsaCount = 6;

// What the Neon level covers on aarch64 (the rest runs the scalar kernels there):
//   NEON: q8 GEMM (ARMv8.0 SMULL/SMLAL/SADALP 4x8 tile, or SDOT 8x8 with dotprod; exact int32, bit-identical
//         to scalar), f32 GEMM (8x8 FMA tile), per-token quantisation, LayerNorm, LayerNorm + quantisation,
//         GELU (vectorised erf as on AVX2), attention (head_dim % 4 == 0; else scalar), resize + normalise.
//   scalar: the 3x3 stride-2 stem convolution, patch gather.

// true when kernels of `level` may run on a machine whose best level is `best`: Scalar always; otherwise
// the same family and not above it (Avx2 within Amx, Neon within Neon; never Avx2 within Neon).
bool isa_implies(Isa best, Isa level);

// "scalar", "avx2", "avx512", "vnni", "amx", "neon" (the TRIAGE_ISA spellings).
const char* isa_name(Isa isa);
// Parses a TRIAGE_ISA spelling (case-insensitive; also accepts "avx512vnni"). false if unknown.
bool parse_isa(const char* s, Isa* out);

// Highest level this CPU and OS support. x86: CPUID + XGETBV(XCR0); for AMX it also requests
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) once per process and stays at Avx512Vnni
// if the kernel refuses. aarch64: Neon (Advanced SIMD is part of ARMv8-A). Other architectures: Scalar.
// Computed once, cached (thread-safe).
Isa detect_isa();

// The CPUID / XCR0 words the ISA decision reads (a seam: tests inject words a CPU or OS would give).
struct CpuFeatures {
  uint32_t leaf1_ecx = 0;                              // CPUID.1:ECX (FMA, OSXSAVE, AVX)
  uint32_t leaf7_ebx = 0, leaf7_ecx = 0, leaf7_edx = 0;  // CPUID.(7,0) (AVX2, AVX-512*, VNNI, AMX)
  uint64_t xcr0 = 0;                                   // XGETBV(0): state the OS saves (0 without OSXSAVE)
};
CpuFeatures read_cpu_features();
// The level those words allow: AVX needs OS-enabled YMM state, AVX-512 F+DQ+BW+VL and ZMM/opmask state,
// VNNI on top, AMX tile+int8 with XTILECFG/XTILEDATA state *and* the permission amx_permission() grants
// (Linux arch_prctl; nullptr or false = refused: VNNI is used instead).
Isa isa_from_features(const CpuFeatures& f, bool (*amx_permission)());

// What the TRIAGE_ISA environment variable says (read at each call; cheap).
struct IsaEnv {
  bool present = false;     // variable set and non-empty
  bool recognised = false;  // value parsed; if present && !recognised it is ignored
  Isa cap = Isa::Amx;       // the parsed cap (Amx = no cap) when recognised
  char value[32] = {};      // the raw value (truncated), for error messages / logs
};
IsaEnv isa_env();

// The level kernels should use: the best level of detect_isa()'s family that both the api_cap and the
// TRIAGE_ISA cap allow. A cap allows Scalar and the levels of its own family up to itself ("at most
// this level"): scalar (api cap or TRIAGE_ISA=scalar) selects Scalar on every machine; avx2 on an AVX-512
// machine gives Avx2; a cap of the other family allows only Scalar there (TRIAGE_ISA=avx2 / avx512 / vnni
// on aarch64, =neon on x86-64: nothing of the machine's family is "at most" it). The one exception is
// Isa::Amx, which is also the "no cap" value (the default here, and what TRIAGE_ISA_AUTO maps to): it
// allows every level of both families, so TRIAGE_ISA=amx caps nothing on aarch64 either. An unknown
// TRIAGE_ISA value is ignored here; triage_open refuses it (isa_env().present && !recognised) with its name.
Isa select_isa(Isa api_cap = Isa::Amx);
// Pure version of the same rule (for tests): detected capped by api_cap, then by parse(env_value) if known.
Isa select_isa_from(Isa detected, Isa api_cap, const char* env_value);

// ---------------------------------------------------------------------------------------------
// GEMM: y[M,N] = x[M,K] * W^T (+ epilogue), W given as PyTorch Linear [N out, K in] row-major.
// Weights are packed once at load for one ISA into caller memory (64-byte aligned) and the
// packed blob carries its layout: the GEMM dispatches on it. Packing for an ISA the machine
// lacks is allowed (it only reorders bytes; also Neon on x86-64 and x86 levels on aarch64); running it
// is not.
//
// Partitioning: a call computes rows [m0, m1) x columns [n0, n1). n0 must be a multiple of
// gemm_*_col_block(w) (n1 a multiple of it or == N). Any split gives bit-identical results.
// Quantised output (yq) needs whole rows: n0 == 0 and n1 == N.
// scratch: pass gemm_*_scratch_floats(w) floats (per thread) on every call (yq rows are staged
// there, and the AMX kernel stages tiles there); it may be null only where that size is 0.
//
// Epilogue order (per element): v = acc (q8: (float)acc_i32 * (x_scale[m] * w_scale[n]))
//   -> v += bias[n]                  (if bias)
//   -> v = gelu(v)                   (if gelu; exact-erf GELU, vectorised erf |err| <= 3.5e-7)
//   -> v = y[m,n] + v                (if accumulate: residual add in place on the f32 stream)
//   -> y[m,n] = v                    (if y)
//   -> yq[m,:], yq_scale[m] = quantize_row(v[m,:])   (if yq; per token, see quantize_rows_q8)
// At least one of y / yq must be given.

struct GemmEpilogue {
  const float* bias = nullptr;  // [N] or null
  bool gelu = false;
  bool accumulate = false;      // y += result (y holds the residual stream); needs y
  float* y = nullptr;           // [M, N] f32 output, row stride ldy (may be null if yq given)
  int64_t ldy = 0;
  int8_t* yq = nullptr;         // [M, N] int8 per-token quantised output, row stride ldyq, or null
  int64_t ldyq = 0;
  float* yq_scale = nullptr;    // [M] row scales of yq
};

// f32 weights ---------------------------------------------------------------------------------
struct PackedF32 {
  Isa isa = Isa::Scalar;  // layout owner
  int n = 0, k = 0;
  const void* data = nullptr;  // caller memory written by gemm_f32_pack
};
size_t gemm_f32_packed_bytes(Isa isa, int n, int k);
// Packs w [n, k] (row stride ldw) into dst (gemm_f32_packed_bytes bytes, 64-byte aligned).
PackedF32 gemm_f32_pack(Isa isa, const float* w, int n, int k, int64_t ldw, void* dst);
int gemm_f32_col_block(const PackedF32& w);
// Floats of scratch one call needs (per thread): non-zero only when yq is requested without y.
size_t gemm_f32_scratch_floats(const PackedF32& w);
void gemm_f32(const PackedF32& w, const float* x, int64_t ldx, const GemmEpilogue& ep, int m0, int m1,
              int n0, int n1, float* scratch);

// q8 weights: int8 [n, k] symmetric + f32 scale per output channel ------------------------------
// Packed layouts: scalar: plain int8 rows. AVX2 / AVX-512 (no VNNI): s8 k-quads for vpmaddubsw with
// the sign moved onto x (exact, see gemm_q8_4x16_avx2.cpp). VNNI: w + 128 as u8 in k-quads, x
// stays s8 (broadcast operand), exact correction acc -= 128 * rowsum(x). AMX: s8 k-quad tiles for
// TDPBSSD (no correction). Neon: s8 k-quads [np/8][k4/4][8][4] (the SDOT layout; the ARMv8.0 SMULL
// path reads the same bytes, exact since |x| <= 127: two products fit int16). Weights may use the full int8 range; x must be in [-127, 127] (what
// quantize_rows_q8 / layernorm_quant_q8 / the yq epilogue produce).
struct PackedQ8 {
  Isa isa = Isa::Scalar;
  int n = 0, k = 0;
  const void* data = nullptr;  // weights, then f32 scales [n] (and per-layout extras)
};
size_t gemm_q8_packed_bytes(Isa isa, int n, int k);
PackedQ8 gemm_q8_pack(Isa isa, const int8_t* w, const float* w_scale, int n, int k, int64_t ldw,
                      void* dst);
int gemm_q8_col_block(const PackedQ8& w);
size_t gemm_q8_scratch_floats(const PackedQ8& w);
// x: int8 [M, K] per-token quantised (row stride ldx), x_scale [M].
void gemm_q8(const PackedQ8& w, const int8_t* x, int64_t ldx, const float* x_scale,
             const GemmEpilogue& ep, int m0, int m1, int n0, int n1, float* scratch);

// ---------------------------------------------------------------------------------------------
// Per-token int8 quantisation (symmetric): amax = max|v|; scale = amax / 127;
// q = clamp(nearbyint(v * (127 / amax)), -127, 127) (round half to even); amax == 0 -> scale 0, q 0.
// Bit-identical across ISAs for the same f32 input.
void quantize_rows_q8(Isa isa, const float* x, int64_t ldx, int rows, int dim, int8_t* y,
                      int64_t ldy, float* y_scale);

// LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * gamma + beta, biased variance,
// two-pass (mean, then centred squares). gamma/beta may be null (1 / 0).
void layernorm_f32(Isa isa, const float* x, int64_t ldx, int rows, int dim, const float* gamma,
                   const float* beta, float eps, float* y, int64_t ldy);
// LayerNorm fused with per-token quantisation; equals quantize_rows_q8(layernorm_f32(...)) of the
// same ISA bit for bit.
void layernorm_quant_q8(Isa isa, const float* x, int64_t ldx, int rows, int dim, const float* gamma,
                        const float* beta, float eps, int8_t* y, int64_t ldy, float* y_scale);

// GELU (exact erf form) in place over n floats; the same function the GEMM epilogue applies.
void gelu_f32(Isa isa, float* x, size_t n);

// ---------------------------------------------------------------------------------------------
// Fused multi-head attention for one head and a query range [q0, q1), f32.
// qkv: [n_tokens, 3*dim] (row stride ld_qkv): q = columns [0, dim), k = [dim, 2 dim), v = [2 dim,
// 3 dim); head h uses columns h*hd .. h*hd+hd-1 of each slot, hd = dim / heads.
// out[i, h*hd + j] = sum_t softmax_t(q_i . k_t * scale) v[t, j]; keys tiled with an online softmax
// (no n x n buffer). If cls_probs is non-null and q0 == 0, writes the CLS query's (row 0)
// probabilities over all n_tokens keys for this head into cls_probs[0 .. n_tokens).
struct AttentionArgs {
  const float* qkv = nullptr;
  int64_t ld_qkv = 0;
  int n_tokens = 0;
  int dim = 0;
  int heads = 0;
  float scale = 0.f;  // usually 1 / sqrt(hd)
  float* out = nullptr;
  int64_t ld_out = 0;
  float* cls_probs = nullptr;
};
// Floats of scratch one call needs (per thread).
size_t attention_scratch_floats(Isa isa, int n_tokens, int head_dim);
void attention_f32(Isa isa, const AttentionArgs& a, int head, int q0, int q1, float* scratch);

// ---------------------------------------------------------------------------------------------
// Stem: 3x3 stride-2 pad-1 convolution, NHWC f32, + bias (BN folded) + optional ReLU.
// Input [h, w, cin] with row stride ld_in (elements, >= w*cin; lets a region of a larger image
// be read in place; zero padding at the given h x w border). Output [ho, wo, cout] dense,
// ho = (h + 1) / 2, wo = (w + 1) / 2; this call writes output rows [oy0, oy1).
// Weights packed once from PyTorch [cout, cin, 3, 3] into [3][3][cin][cout_pad] (cout padded to 8).
size_t conv3x3s2_packed_floats(int cout, int cin);
void conv3x3s2_pack_f32(const float* w_oihw, int cout, int cin, float* dst);
void conv3x3s2_f32(Isa isa, const float* in, int h, int w, int cin, int64_t ld_in,
                   const float* w_packed, const float* bias, int cout, bool relu, float* out,
                   int oy0, int oy1);

// Patch projection (p x p conv, stride p) = patch gather + GEMM.
// K order of a token row: (ky, kx, c) -> index (ky * p + kx) * c2 + c, i.e. NHWC rows of the
// patch concatenated. Repack PyTorch weights [D, c2, p, p] to [D, p, p, c2] (= [D, K]) with
// these (f32 and int8; the q8 scales are per output channel and unchanged).
void patch_weight_repack_f32(const float* w_dcpp, int d, int c2, int p, float* dst);
void patch_weight_repack_i8(const int8_t* w_dcpp, int d, int c2, int p, int8_t* dst);
// in: NHWC [h, w, c] row stride ld_in; tokens row-major over the (h/p) x (w/p) grid.
// out: [tokens, p*p*c] with row stride ld_out. Writes tokens [t0, t1).
void patch_gather_f32(const float* in, int h, int w, int c, int64_t ld_in, int p, float* out,
                      int64_t ld_out, int t0, int t1);

// ---------------------------------------------------------------------------------------------
// Fused resize + normalise (docs/model-family.md "Preprocessing"): image [h, w, channels] of u8 or
// u16 with row stride `row_stride` (elements) -> out [S, S, channels] f32 NHWC, rows [oy0, oy1).
// Per axis: scale = (float)n / (float)S; s = max((d + 0.5f) * scale - 0.5f, 0); i0 = floor(s);
// i1 = min(i0 + 1, n - 1); t = s - i0. a = (float)v / max_value;
// r = (1 - ty) * ((1 - tx) a00 + tx a01) + ty * ((1 - tx) a10 + tx a11); y = (r - mean) / stdev.
// Every ISA performs exactly these f32 operations (no FMA): results are bit-identical.
struct ResizeNorm {
  int out_size = 0;  // S
  float max_value = 255.f;
  float mean = 0.f;
  float stdev = 1.f;
};
// Floats of scratch one call needs (per thread; 5 * out_size * channels + 272 for AVX2, 0 scalar).
size_t resize_scratch_floats(Isa isa, int w, int channels, int out_size);
void resize_normalize_u8(Isa isa, const uint8_t* img, int h, int w, int channels, int64_t row_stride,
                         const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch);
void resize_normalize_u16(Isa isa, const uint16_t* img, int h, int w, int channels,
                          int64_t row_stride, const ResizeNorm& p, float* out, int oy0, int oy1,
                          float* scratch);

}  // namespace triage::kernels
