// Input tokens of the coarse pass (and of the plain vit's single pass): x0[i] = [cls + pos[0];
// emb[i*G + t] + pos[1 + t]], optionally copied to the residual stream (the coarse x0 is kept for the
// fine pass). The same additions as the CPU engine (forward_coarse.cpp), bit for bit.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

__global__ void tokens_embed_kernel(const TokensArgs a) {
  const int i = blockIdx.y, t = blockIdx.x, N = a.G + 1;
  if (i >= dev::live_rows(a.live, a.images)) return;
  const int64_t o = (static_cast<int64_t>(i) * N + t) * a.D;
  const float* e = a.emb + (static_cast<int64_t>(i) * a.G + t - 1) * a.D;
  const float* pos = a.pos + static_cast<int64_t>(t) * a.D;
  for (int d = threadIdx.x; d < a.D; d += blockDim.x) {
    const float v = t == 0 ? __fadd_rn(a.cls[d], pos[d]) : __fadd_rn(e[d], pos[d]);
    a.x0[o + d] = v;
    if (a.copy) a.copy[o + d] = v;
  }
}

}  // namespace

cudaError_t tokens_embed(const TokensArgs& a, cudaStream_t s) {
  if (!a.emb || !a.cls || !a.pos || !a.x0 || a.G < 1 || a.D < 1 || a.images < 0 || a.images > 65535)
    return cudaErrorInvalidValue;
  if (a.images == 0) return cudaSuccess;
  tokens_embed_kernel<<<dim3(a.G + 1, a.images), dim3(a.D < 256 ? (a.D + 31) / 32 * 32 : 256), 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
