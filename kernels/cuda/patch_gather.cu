// Patch gather for the plain vit's patch projection: NHWC f32 [S, S, C] -> bf16 rows [(S/P)^2, P*P*C]
// in the K order (ky, kx, c) of kernels::patch_gather_f32 (pure data movement + rounding to bf16).
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

__global__ void __launch_bounds__(256) gather_kernel(const GatherArgs a) {
  const int img = blockIdx.y;
  if (img >= dev::live_rows(a.live, a.images)) return;
  const int g = a.S / a.P, K = a.P * a.P * a.C, tokens = g * g;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<int64_t>(tokens) * K) return;
  const int t = static_cast<int>(idx / K), k = static_cast<int>(idx % K);
  const int c = k % a.C, kx = (k / a.C) % a.P, ky = k / (a.C * a.P), ty = t / g, tx = t % g;
  const float v = a.in[static_cast<int64_t>(img) * a.S * a.S * a.C +
                       (static_cast<int64_t>(ty * a.P + ky) * a.S + tx * a.P + kx) * a.C + c];
  static_cast<__nv_bfloat16*>(a.out)[static_cast<int64_t>(img) * tokens * K + idx] = __float2bfloat16_rn(v);
}

}  // namespace

cudaError_t patch_gather(const GatherArgs& a, cudaStream_t s) {
  if (!a.in || !a.out || a.P < 1 || a.S % a.P != 0 || a.C < 1 || a.images < 0 || a.images > 65535)
    return cudaErrorInvalidValue;
  if (a.images == 0) return cudaSuccess;
  const int64_t total = static_cast<int64_t>(a.S) * a.S * a.C;  // tokens * K
  const dim3 grid(static_cast<unsigned>((total + 255) / 256), a.images), block(256);
  gather_kernel<<<grid, block, 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
