// Token skipping of the coarse pass (docs/model-family.md "Token skipping"; kernels.h SkipArgs /
// UnskipArgs): pick the kept patches of each image by the skip block's CLS attention, write the shorter
// sequence with the fused token, and afterwards put the kept rows back. The CPU engine's operations in
// its order (runtime/forward_coarse.cpp skip_tokens), so equal inputs give equal bits.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

// One block per image; shared: a[Gc], w[Gc] (weights), pos[Gc].
__global__ void __launch_bounds__(256) skip_kernel(const SkipArgs a) {
  extern __shared__ float sh[];
  const int i = blockIdx.x;
  if (i >= dev::live_rows(a.live, a.images)) return;
  const int Gc = a.Gc, kc = a.kc, D = a.D, Nc = 1 + Gc;
  float* att = sh;
  float* w = sh + Gc;
  int* pos = reinterpret_cast<int*>(sh + 2 * Gc);
  const float* p = a.cls_probs + static_cast<int64_t>(i) * a.H * Nc;
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) {
    float m = 0.f;
    for (int h = 0; h < a.H; ++h) m = __fadd_rn(m, p[static_cast<int64_t>(h) * Nc + 1 + j]);
    att[j] = __fdiv_rn(m, static_cast<float>(a.H));
    a.scores[static_cast<int64_t>(i) * Gc + j] = att[j];
  }
  __syncthreads();
  // kept iff rank < kc under (key descending, index ascending), key = a with NaN as -inf.
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) {
    const float kj = isnan(att[j]) ? -INFINITY : att[j];
    int rank = 0;
    for (int q = 0; q < Gc; ++q) {
      const float kq = isnan(att[q]) ? -INFINITY : att[q];
      rank += kq > kj || (kq == kj && q < j);
    }
    pos[j] = rank < kc;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    // Positions of the kept (1-based, ascending j) and the fused weights, sequentially as the CPU.
    int t = 0;
    float wsum = 0.f;
    for (int j = 0; j < Gc; ++j) {
      if (pos[j]) {
        pos[j] = ++t;
      } else {
        const float kj = isnan(att[j]) ? -INFINITY : att[j];
        wsum = __fadd_rn(wsum, kj > 0.f ? att[j] : 0.f);
      }
    }
    const bool weighted = wsum > 0.f && isfinite(wsum);
    const float even = __fdiv_rn(1.f, static_cast<float>(Gc - kc));
    for (int j = 0; j < Gc; ++j) {
      const float kj = isnan(att[j]) ? -INFINITY : att[j];
      w[j] = pos[j] ? 0.f : weighted ? (kj > 0.f ? __fdiv_rn(att[j], wsum) : 0.f) : even;
    }
  }
  __syncthreads();
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) a.pos[static_cast<int64_t>(i) * Gc + j] = pos[j];
  const float* xc = a.xc + static_cast<int64_t>(i) * Nc * D;
  float* xk = a.xk + static_cast<int64_t>(i) * (kc + 2) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    xk[d] = xc[d];
    float f = 0.f;
    for (int j = 0; j < Gc; ++j) {
      const float v = xc[static_cast<int64_t>(1 + j) * D + d];
      if (pos[j]) xk[static_cast<int64_t>(pos[j]) * D + d] = v;
      else f = __fadd_rn(f, __fmul_rn(w[j], v));
    }
    xk[static_cast<int64_t>(kc + 1) * D + d] = f;
  }
}

// Grid (rows 1 + Gc, images): row 0 the CLS, row 1 + j patch j when kept.
__global__ void unskip_kernel(const UnskipArgs a) {
  const int i = blockIdx.y, r = blockIdx.x;
  if (i >= dev::live_rows(a.live, a.images)) return;
  const int q = r == 0 ? 0 : a.pos[static_cast<int64_t>(i) * a.Gc + r - 1];
  if (r > 0 && q == 0) return;
  const float* src = a.xk + (static_cast<int64_t>(i) * (a.kc + 2) + q) * a.D;
  float* dst = a.xc + (static_cast<int64_t>(i) * (1 + a.Gc) + r) * a.D;
  for (int d = threadIdx.x; d < a.D; d += blockDim.x) dst[d] = src[d];
}

}  // namespace

cudaError_t skip_tokens(const SkipArgs& a, cudaStream_t s) {
  if (!a.cls_probs || !a.xc || !a.pos || !a.scores || !a.xk || a.H < 1 || a.Gc < 2 || a.Gc > 1024 || a.kc < 1 ||
      a.kc >= a.Gc || a.D < 1 || a.images < 0)
    return cudaErrorInvalidValue;
  if (a.images == 0) return cudaSuccess;
  skip_kernel<<<a.images, 256, static_cast<size_t>(a.Gc) * 12, s>>>(a);
  return cudaGetLastError();
}

cudaError_t unskip_tokens(const UnskipArgs& a, cudaStream_t s) {
  if (!a.xk || !a.pos || !a.xc || a.Gc < 2 || a.kc < 1 || a.kc >= a.Gc || a.D < 1 || a.images < 0 || a.images > 65535)
    return cudaErrorInvalidValue;
  if (a.images == 0) return cudaSuccess;
  unskip_kernel<<<dim3(1 + a.Gc, a.images), dim3(a.D < 256 ? (a.D + 31) / 32 * 32 : 256), 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
