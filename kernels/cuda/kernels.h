// triage CUDA kernels: the host-side launch API the CUDA engine (runtime/cuda) codes against.
// Plain C++ (no CUDA language extensions): .cpp files include it; the kernels live in kernels/cuda/*.cu,
// one op per file, for sm_87 (Jetson Orin) and sm_90 (H100).
//
// Rules every launcher here follows:
// - No allocation, no host synchronisation, no global state after kernels_init(): each launcher only
//   enqueues work on the given stream, so a sequence of launches can be captured into a CUDA graph.
// - Returns the launch status (cudaGetLastError() after the launch); a kernel's own faults surface at
//   the next synchronising call.
// - Dynamic counts: a pass captured once for a maximum batch reads its live count from device memory
//   (DynCount): blocks past the live rows return at once, so one graph serves every count <= the max.
// - Deterministic: an output element's value never depends on the grid, the live count or the other
//   rows of the batch (fixed tile configuration per (N, K, dtype), fixed reduction order per element).
// - Numerics mirror the CPU scalar references (kernels/cpu) operation by operation where that is cheap:
//   the q8 GEMM epilogue, quantisation, resize and the stem convolution use explicitly rounded
//   (non-contracted) f32 operations, so they match the scalar reference bit for bit on equal inputs;
//   bf16 GEMMs accumulate in f32 on the tensor cores (order differs from the CPU); attention and
//   LayerNorm reduce in a different order than the CPU (f32 rounding level).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace triage::cuda {

// A live count in device memory: rows = *count * per (count null: the launch's static maximum).
struct DynCount {
  const int32_t* count = nullptr;
  int per = 1;
};

// Sets per-kernel attributes (dynamic shared memory above 48 KB for the row-quantising GEMM) on the
// current device. Call once per device before any launch or capture. smem_optin: the device's
// cudaDevAttrMaxSharedMemoryPerBlockOptin.
cudaError_t kernels_init(int smem_optin);

// ---------------------------------------------------------------------------------------------
// GEMM on tensor cores: y[M, N] = A[M, K] * W^T (+ epilogue), W as PyTorch Linear [N, K] row-major.
//   q8  : A int8 per-token quantised (a_scale[M]), W int8 + w_scale[N]; mma.sync m16n8k32 s8 -> s32
//         (exact), v = (float)acc * (a_scale[m] * w_scale[n]).
//   bf16: A bf16, W bf16; mma.sync m16n8k16 bf16 -> f32, v = acc.
// Epilogue per element, in order: v += bias[n] (if bias); v = gelu(v) (if gelu, exact erf);
//   F32: y = v; F32_ACC: y = y + v (residual add in place); BF16: yb = bf16(v);
//   Q8ROW: whole rows quantised per token into yq (int8) + yq_scale[m] (as kernels::quantize_rows_q8).
// Requirements (checked by gemm_check): K * elem bytes a multiple of 16; lda/ldw*elem multiples of 16
// bytes; A/W 16-byte aligned. M, N any size (tails predicated).
enum class GemmType : int { Q8 = 0, BF16 = 1 };
enum class GemmOut : int { F32 = 0, F32_ACC = 1, BF16 = 2, Q8ROW = 3 };

struct GemmArgs {
  GemmType type = GemmType::BF16;
  const void* a = nullptr;  // [M, K] (row stride lda elements)
  int64_t lda = 0;
  const float* a_scale = nullptr;  // q8: [M]
  const void* w = nullptr;         // [N, K] dense (row stride K)
  const float* w_scale = nullptr;  // q8: [N]
  const float* bias = nullptr;     // [N] or null
  int M = 0, N = 0, K = 0;         // M: the static maximum (sizes the grid)
  DynCount rows;                   // live rows (<= M)
  bool gelu = false;
  GemmOut out = GemmOut::F32;
  float* y = nullptr;  // F32 / F32_ACC
  int64_t ldy = 0;
  void* yb = nullptr;  // BF16 (uint16 bf16 bits)
  int64_t ldyb = 0;
  int8_t* yq = nullptr;  // Q8ROW
  int64_t ldyq = 0;
  float* yq_scale = nullptr;
  // Q8ROW only, when gemm_rowq_fused() is false for (N, K): f32 staging [M, N] (row stride N); the
  // GEMM writes f32 there and a quantise pass follows.
  float* rowq_staging = nullptr;
  // The device's opt-in shared memory per block (cudaDevAttrMaxSharedMemoryPerBlockOptin); 0: queried
  // at the launch (pass it when capturing, to keep attribute queries out of the capture).
  int smem_optin = 0;
};

// Tile configuration (host side; identical for every M so results never depend on the batch).
struct GemmConfig {
  int bm = 64, bn = 64;     // CTA tile
  int threads = 128;        // 4 warps, 2 x 2 warp grid
  int stages = 3;           // cp.async pipeline depth
  bool rowq_fused = false;  // Q8ROW done inside the GEMM (CTA owns whole rows)
  size_t smem_bytes = 0;    // dynamic shared memory of the launch
};
// The configuration gemm() uses for this shape/output on a device whose opt-in shared memory limit is
// smem_optin bytes.
GemmConfig gemm_config(GemmOut out, int N, int K, GemmType type, int smem_optin);
// Whether a Q8ROW output of N columns is fused on such a device (else rowq_staging is required).
bool gemm_rowq_fused(int N, int smem_optin);
// Argument checks (alignment, sizes); returns nullptr or a static message.
const char* gemm_check(const GemmArgs& a);
cudaError_t gemm(const GemmArgs& a, cudaStream_t s);

// ---------------------------------------------------------------------------------------------
// Row addressing shared by the row-wise kernels: row r of a logical [rows, dim] matrix lives at
//   base + g * group_stride + (off + r % per) * ld,  g = map ? map[r / per] : r / per.
// per == 0 means one group: base + r * ld.
struct RowMap {
  int64_t ld = 0;
  int per = 0;
  int64_t group_stride = 0;
  int off = 0;
  const int32_t* map = nullptr;
};

// LayerNorm (two-pass mean / centred variance, eps inside the sqrt) fused with the output format;
// norm == false converts rows as they are (quantise / narrow). Output rows dense with stride ldy.
enum class RowOut : int { F32 = 0, BF16 = 1, Q8 = 2 };
struct RowArgs {
  const float* x = nullptr;
  RowMap in;
  int rows = 0;  // static maximum
  DynCount live;
  int dim = 0;
  bool norm = true;
  const float* gamma = nullptr;  // may be null (1)
  const float* beta = nullptr;   // may be null (0)
  float eps = 1e-6f;
  RowOut out = RowOut::Q8;
  void* y = nullptr;  // float / bf16 / int8
  int64_t ldy = 0;
  float* y_scale = nullptr;  // Q8: [rows]
};
cudaError_t layernorm_rows(const RowArgs& a, cudaStream_t s);

// ---------------------------------------------------------------------------------------------
// Fused multi-head attention, f32 (flash style: key tiles of 32 in shared memory, online softmax, no
// N x N matrix anywhere). Image i's tokens: qkv + i * n * 3D ([n, 3D]: q | k | v, head h at columns
// h*hd .. h*hd+hd-1 of each slot); out + i * n * D ([n, D], heads concatenated), f32 or bf16.
// cls_probs (optional): [images, heads, n] softmax row of query 0 per head. head_dim 32 or 64.
struct AttentionArgs {
  const float* qkv = nullptr;
  int n_tokens = 0, dim = 0, heads = 0;
  float scale = 0.f;
  int images = 0;  // static maximum
  DynCount live;   // live images (per must be 1)
  void* out = nullptr;
  bool out_bf16 = false;
  float* cls_probs = nullptr;
};
bool attention_supported(int head_dim);
cudaError_t attention(const AttentionArgs& a, cudaStream_t s);

// ---------------------------------------------------------------------------------------------
// Stem convolution 3x3 stride 2 pad 1, NHWC f32, + bias (BN folded) + ReLU. Weights packed as the CPU
// does (kernels::conv3x3s2_pack_f32: [3][3][cin][round_up(cout, 8)]).
// Input z (z < count): image mode (order null): in + z * in_stride; region mode: region z of slot
// e = z / regions, patch j = order[e * order_stride + z % regions] at (cy, cx) = (j / wc, j % wc):
// in + e * in_stride + (cy * h) * ld_in + (cx * w) * cin (an h x w window read in place, zero padding at
// the window border). Output: NHWC f32 dense per z (out + z * ho*wo*cout), or patch rows in bf16
// (gather fused): token (oy / pk, ox / pk) of z -> row z * tokens + ty * (wo/pk) + tx, column
// ((oy % pk) * pk + ox % pk) * cout + co (the K order of kernels::patch_gather_f32).
struct ConvArgs {
  const float* in = nullptr;
  int64_t in_stride = 0, ld_in = 0;
  int h = 0, w = 0, cin = 0;
  const int32_t* order = nullptr;
  int regions = 1, order_stride = 0, wc = 1;
  const float* wp = nullptr;
  const float* bias = nullptr;
  int cout = 0;
  bool relu = true;
  int z = 0;  // static maximum
  DynCount live;
  float* out = nullptr;  // f32 NHWC
  void* out_patch = nullptr;  // bf16 patch rows (instead of out)
  int pk = 0;
};
cudaError_t conv3x3s2(const ConvArgs& a, cudaStream_t s);

// Patch gather (the plain vit's patch projection input): NHWC f32 image [S, S, C] -> bf16 rows
// [(S/P)^2, P*P*C], K order (ky, kx, c).
struct GatherArgs {
  const float* in = nullptr;
  int S = 0, C = 0, P = 0;
  int images = 0;
  DynCount live;
  void* out = nullptr;  // bf16
};
cudaError_t patch_gather(const GatherArgs& a, cudaStream_t s);

// ---------------------------------------------------------------------------------------------
// Fused bilinear resize (half-pixel, no antialias) + value map + normalise, the exact f32 operations
// of kernels::resize_normalize_* (bit-identical). Image descriptors live in device memory so a
// captured graph serves any input size.
struct ImageDesc {
  const void* data = nullptr;  // device-readable pixels
  int64_t row_stride = 0;      // bytes
  uint32_t pixel = 1;          // 1 = u8, 2 = u16
  uint32_t height = 0, width = 0, channels = 0;
};
struct ResizeArgs {
  const ImageDesc* desc = nullptr;  // device
  const int32_t* map = nullptr;     // slot -> descriptor index (null: identity)
  int images = 0;                   // static maximum
  DynCount live;
  int S = 0, C = 0;
  float max_u8 = 255.f, max_u16 = 65535.f, mean = 0.f, stdev = 1.f;
  float* out = nullptr;  // [images, S, S, C]
};
cudaError_t resize_normalize(const ResizeArgs& a, cudaStream_t s);

// ---------------------------------------------------------------------------------------------
// Model-family glue (docs/model-family.md), each a small kernel.
// Coarse / vit input tokens: x0[i] = [cls + pos[0]; emb[i*G + t] + pos[1 + t]]; copy (optional) = x0.
struct TokensArgs {
  const float* emb = nullptr;
  const float* cls = nullptr;
  const float* pos = nullptr;
  int G = 0, D = 0;
  int images = 0;
  DynCount live;
  float* x0 = nullptr;
  float* copy = nullptr;
};
cudaError_t tokens_embed(const TokensArgs& a, cudaStream_t s);

// Fine-pass tokens of slot e (image esc[e]): [cls + pos_fine[0]], the K selected patches ascending as
// (femb + pos_fine[...]) + u, then the kept patches ascending as x0 + u (order = selected | kept).
struct FineTokensArgs {
  const float* femb = nullptr;    // [slots*K*4, D]
  const float* u = nullptr;       // [slots*Gc, D]
  const float* x0 = nullptr;      // [images, 1+Gc, D] coarse input tokens
  const float* cls = nullptr;
  const float* pos_fine = nullptr;
  const int32_t* order = nullptr;  // [slots, Gc]
  const int32_t* esc = nullptr;    // [slots]
  int K = 0, Gc = 0, Wc = 0, D = 0;
  // Token skipping (arch.keep_fine): the first `carried` unselected patches of order are kept tokens,
  // the rest become one fused token (their x0 + u summed in order, times 1 / count). -1: all carried.
  int carried = -1;
  int slots = 0;
  DynCount live;
  float* xf = nullptr;  // [slots, Nf, D], Nf = 1 + 4K + carried (+ 1 fused)
};
cudaError_t tokens_fine(const FineTokensArgs& a, cudaStream_t s);

// Ranking scores r[i][j] = sum over ranked layers l (increasing) of mean over heads of
// cls_probs[l][i][h][1 + j] (the CPU's order of operations).
// With token skipping (pos non-null, N = keep_coarse + 2): patch j's key is pos[i][j] (its position in
// the kept sequence); a dropped patch (pos 0) keeps the score skip_tokens wrote.
struct RankArgs {
  const float* cls_probs = nullptr;  // [R, layer_images, H, N], layer slots layer_stride floats apart
  int R = 0, H = 0, N = 0, Gc = 0;
  int images = 0;        // grid (static maximum of live images)
  int layer_images = 0;  // image capacity of one layer slot of cls_probs, >= images
  int64_t layer_stride = 0;  // floats from one layer slot to the next (0: layer_images * H * N)
  const int32_t* pos = nullptr;  // [images, Gc] token skipping positions, or null
  DynCount live;
  float* scores = nullptr;  // [images, Gc]
};
cudaError_t rank_scores(const RankArgs& a, cudaStream_t s);

// Top-k of slot e's scores (image esc[e]; esc null: identity): order[e] = the k largest (ties to the
// smaller index, NaN lowest) ascending, then the rest ascending.
// Token skipping: pos (non-null) puts the dropped patches (pos 0) after every kept one in the rank order;
// carried >= 0 splits the unselected patches into the first `carried` in rank order, ascending, then
// the rest ascending (the CPU engine's select, forward_fine.cpp).
struct SelectArgs {
  const float* scores = nullptr;  // [images, Gc]
  const int32_t* esc = nullptr;
  const int32_t* pos = nullptr;   // [images, Gc] token skipping positions, or null
  int Gc = 0, k = 0;
  int carried = -1;
  int slots = 0;
  DynCount live;
  int32_t* order = nullptr;  // [slots, Gc]
};
cudaError_t topk_select(const SelectArgs& a, cudaStream_t s);

// Token skipping of the coarse pass (docs/model-family.md "Token skipping"), one block per live image i:
// a[j] = head mean of the skip block's CLS attention on key 1 + j (cls_probs [images, H, 1 + Gc]); the
// kc patches with the largest a (ties to the smaller index, NaN lowest) are kept: pos[i][j] = 1 + their
// rank among the kept in ascending j, 0 for a dropped one; scores[i][j] = a[j]; xk[i] = [xc[i][0];
// xc[i][1 + kept j]; fused], fused = sum over the dropped j ascending of w_j xc[i][1 + j], w_j = a_j / wsum
// (wsum: their a > 0 summed in ascending j; 1 / (Gc - kc) each when wsum is not positive and finite).
// The CPU engine's operations in its order (forward_coarse.cpp), bit for bit.
struct SkipArgs {
  const float* cls_probs = nullptr;  // [images, H, 1 + Gc]
  const float* xc = nullptr;         // [images, 1 + Gc, D]
  int H = 0, Gc = 0, kc = 0, D = 0;
  int images = 0;
  DynCount live;
  int32_t* pos = nullptr;   // [images, Gc]
  float* scores = nullptr;  // [images, Gc]
  float* xk = nullptr;      // [images, kc + 2, D]
};
cudaError_t skip_tokens(const SkipArgs& a, cudaStream_t s);

// The kept sequence back into the full one: xc[i][0] = xk[i][0], xc[i][1 + j] = xk[i][pos[i][j]] for
// every kept j (dropped rows untouched).
struct UnskipArgs {
  const float* xk = nullptr;      // [images, kc + 2, D]
  const int32_t* pos = nullptr;   // [images, Gc]
  int Gc = 0, kc = 0, D = 0;
  int images = 0;
  DynCount live;
  float* xc = nullptr;  // [images, 1 + Gc, D]
};
cudaError_t unskip_tokens(const UnskipArgs& a, cudaStream_t s);

// Router + compaction (one block): per image i < *n: softmax of the coarse logits and the decision of
// rt::decide_coarse (force: 0 router, 1 all exit, 2/3 all escalate); flags[i] = escalate; then an
// exclusive prefix sum over the flags writes esc[0 .. m) (ascending image indices) and *m.
struct RouterArgs {
  const float* logits = nullptr;  // [images, ncls]
  const int32_t* n = nullptr;     // live images (device)
  int images = 0, ncls = 0, good = 0, force = 0;
  double coarse_good = 2.0, coarse_defect = 0.9;
  int32_t* flags = nullptr;  // [images]
  int32_t* esc = nullptr;    // [images]
  int32_t* m = nullptr;      // escalated count
};
cudaError_t router_compact(const RouterArgs& a, cudaStream_t s);

// dst[idx[e]] = src[e] for rows e < *count (ncls floats each).
struct ScatterArgs {
  const float* src = nullptr;
  const int32_t* idx = nullptr;
  int rows = 0, cols = 0;
  DynCount live;
  float* dst = nullptr;
};
cudaError_t scatter_rows(const ScatterArgs& a, cudaStream_t s);

}  // namespace triage::cuda
