// Fused multi-head attention, f32, flash style: per (query block of 32, head, image) one CTA of 128
// threads; 4 threads per query (a quad). Key/value tiles of 32 rows go through shared memory (rows padded
// by 16 bytes so the quad's 4 rows hit distinct banks); each quad thread scores 8 keys of the tile with
// the whole query in registers, the quad agrees on the running max by shuffles, rescales its output
// slice (4 x float4 for hd 64, interleaved so the quad reads 64 contiguous bytes of V) and accumulates
// p * V with the probabilities broadcast by shuffles. No N x N buffer exists anywhere. Query 0 of each
// head writes its raw scores to cls_probs and normalises them after the last tile (same thread, same
// addresses), giving the CLS attention row the router ranks patches with.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

constexpr int kQB = 32;  // queries per CTA
constexpr int kKT = 32;  // keys per tile

template <int HD, bool BF16OUT>
__global__ void __launch_bounds__(128) attention_kernel(const AttentionArgs a) {
  constexpr int F4 = HD / 4;
  const int img = blockIdx.z;
  if (img >= dev::live_rows(a.live, a.images)) return;
  const int h = blockIdx.y, n = a.n_tokens, D = a.dim, ld = 3 * D;
  const int tid = threadIdx.x, lane = tid & 31, sub = tid & 3, qi = blockIdx.x * kQB + (tid >> 2);
  const float* base = a.qkv + static_cast<int64_t>(img) * n * ld;
  __shared__ float4 sK[kKT][F4 + 1];
  __shared__ float4 sV[kKT][F4 + 1];

  float q[HD];
  {
    const bool ok = qi < n;
    const float4* qp = reinterpret_cast<const float4*>(base + static_cast<int64_t>(ok ? qi : 0) * ld + h * HD);
#pragma unroll
    for (int f = 0; f < F4; ++f) {
      const float4 v = ok ? qp[f] : make_float4(0.f, 0.f, 0.f, 0.f);
      q[4 * f] = v.x;
      q[4 * f + 1] = v.y;
      q[4 * f + 2] = v.z;
      q[4 * f + 3] = v.w;
    }
  }
  float o[HD / 4];
#pragma unroll
  for (int d = 0; d < HD / 4; ++d) o[d] = 0.f;
  float m = -INFINITY, l = 0.f;
  float* cls = (a.cls_probs && qi == 0) ? a.cls_probs + (static_cast<int64_t>(img) * a.heads + h) * n : nullptr;

  for (int t0 = 0; t0 < n; t0 += kKT) {
    __syncthreads();  // the previous tile is no longer read
    for (int c = tid; c < kKT * F4; c += 128) {
      const int r = c / F4, f = c % F4, t = t0 + r;
      float4 kv = make_float4(0.f, 0.f, 0.f, 0.f), vv = kv;
      if (t < n) {
        const float* row = base + static_cast<int64_t>(t) * ld + h * HD;
        kv = reinterpret_cast<const float4*>(row + D)[f];
        vv = reinterpret_cast<const float4*>(row + 2 * D)[f];
      }
      sK[r][f] = kv;
      sV[r][f] = vv;
    }
    __syncthreads();

    float s[kKT / 4];
    float mt = -INFINITY;
#pragma unroll
    for (int i = 0; i < kKT / 4; ++i) {
      const int r = sub + 4 * i;
      float d = 0.f;
#pragma unroll
      for (int f = 0; f < F4; ++f) {
        const float4 k = sK[r][f];
        d = fmaf(q[4 * f], k.x, d);
        d = fmaf(q[4 * f + 1], k.y, d);
        d = fmaf(q[4 * f + 2], k.z, d);
        d = fmaf(q[4 * f + 3], k.w, d);
      }
      s[i] = t0 + r < n ? d * a.scale : -INFINITY;
      mt = fmaxf(mt, s[i]);
    }
    mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 1));
    mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 2));
    if (cls) {
#pragma unroll
      for (int i = 0; i < kKT / 4; ++i)
        if (t0 + sub + 4 * i < n) cls[t0 + sub + 4 * i] = s[i];
    }
    const float mnew = fmaxf(m, mt);  // finite: key t0 < n is in this tile
    const float corr = expf(m - mnew);
    float ps = 0.f;
#pragma unroll
    for (int i = 0; i < kKT / 4; ++i) {
      s[i] = expf(s[i] - mnew);
      ps += s[i];
    }
    ps += __shfl_xor_sync(0xffffffffu, ps, 1);
    ps += __shfl_xor_sync(0xffffffffu, ps, 2);
    l = l * corr + ps;
#pragma unroll
    for (int d = 0; d < HD / 4; ++d) o[d] *= corr;
#pragma unroll
    for (int r = 0; r < kKT; ++r) {
      const float pr = __shfl_sync(0xffffffffu, s[r / 4], (lane & ~3) | (r & 3));
#pragma unroll
      for (int j = 0; j < HD / 16; ++j) {
        const float4 v = sV[r][sub + 4 * j];
        o[4 * j] = fmaf(pr, v.x, o[4 * j]);
        o[4 * j + 1] = fmaf(pr, v.y, o[4 * j + 1]);
        o[4 * j + 2] = fmaf(pr, v.z, o[4 * j + 2]);
        o[4 * j + 3] = fmaf(pr, v.w, o[4 * j + 3]);
      }
    }
    m = mnew;
  }

  if (qi < n) {
    const int64_t orow = (static_cast<int64_t>(img) * n + qi) * D + h * HD;
#pragma unroll
    for (int j = 0; j < HD / 16; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float v = o[4 * j + e] / l;
        const int64_t idx = orow + 4 * (sub + 4 * j) + e;
        if constexpr (BF16OUT) static_cast<__nv_bfloat16*>(a.out)[idx] = __float2bfloat16_rn(v);
        else static_cast<float*>(a.out)[idx] = v;
      }
  }
  if (cls)
    for (int t = sub; t < n; t += 4) cls[t] = expf(cls[t] - m) / l;
}

template <int HD>
cudaError_t launch(const AttentionArgs& a, cudaStream_t s) {
  const dim3 grid((a.n_tokens + kQB - 1) / kQB, a.heads, a.images), block(128);
  if (a.out_bf16) attention_kernel<HD, true><<<grid, block, 0, s>>>(a);
  else attention_kernel<HD, false><<<grid, block, 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace

bool attention_supported(int head_dim) { return head_dim == 32 || head_dim == 64; }

cudaError_t attention(const AttentionArgs& a, cudaStream_t s) {
  if (!a.qkv || !a.out || a.heads < 1 || a.dim % a.heads != 0 || a.n_tokens < 1 || a.images < 0 ||
      a.images > 65535 || (a.live.count && a.live.per != 1))
    return cudaErrorInvalidValue;
  if (a.images == 0) return cudaSuccess;
  switch (a.dim / a.heads) {
    case 32: return launch<32>(a, s);
    case 64: return launch<64>(a, s);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace triage::cuda
