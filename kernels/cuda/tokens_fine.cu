// Fine-pass tokens (docs/model-family.md "Fine pass"): for slot e (image esc[e]):
//   [cls + pos_fine[0]], for each selected coarse patch j = (cy, cx) ascending the 2 x 2 fine tokens
//   (f[a][b] + pos_fine[1 + (2cy + a) Wf + 2cx + b]) + u_j, then the kept patches ascending x0[1 + j] + u_j
//   (arch.keep_fine: the carried ones, then one fused token for the rest).
// The CPU engine's additions in its order (forward_fine.cpp), bit for bit.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

__global__ void tokens_fine_kernel(const FineTokensArgs a) {
  const int e = blockIdx.y, t = blockIdx.x;
  if (e >= dev::live_rows(a.live, a.slots)) return;
  const int K = a.K, Gc = a.Gc, Wc = a.Wc, Wf = 2 * Wc, D = a.D;
  const int carried = a.carried < 0 || a.carried > Gc - K ? Gc - K : a.carried;
  const int Nf = 1 + 4 * K + carried + (carried < Gc - K ? 1 : 0);
  const int32_t* ord = a.order + static_cast<int64_t>(e) * Gc;
  float* x = a.xf + (static_cast<int64_t>(e) * Nf + t) * D;
  if (t == 0) {
    for (int d = threadIdx.x; d < D; d += blockDim.x) x[d] = __fadd_rn(a.cls[d], a.pos_fine[d]);
    return;
  }
  if (t <= 4 * K) {
    const int s = (t - 1) / 4, ab = (t - 1) % 4, j = ord[s], cy = j / Wc, cx = j % Wc;
    const int64_t pi = 1 + static_cast<int64_t>(2 * cy + ab / 2) * Wf + (2 * cx + ab % 2);
    const float* f = a.femb + ((static_cast<int64_t>(e) * K + s) * 4 + ab) * D;
    const float* pos = a.pos_fine + pi * D;
    const float* u = a.u + (static_cast<int64_t>(e) * Gc + j) * D;
    for (int d = threadIdx.x; d < D; d += blockDim.x) x[d] = __fadd_rn(__fadd_rn(f[d], pos[d]), u[d]);
    return;
  }
  const int q = t - 1 - 4 * K;
  if (q == carried) {  // the fused token: sum of x0 + u over the other unselected patches, times 1 / count
    const float inv = __fdiv_rn(1.f, static_cast<float>(Gc - K - carried));
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
      float f = 0.f;
      for (int s = K + carried; s < Gc; ++s) {
        const int j = ord[s];
        const float x0 = a.x0[(static_cast<int64_t>(a.esc[e]) * (1 + Gc) + 1 + j) * D + d];
        f = __fadd_rn(f, __fadd_rn(x0, a.u[(static_cast<int64_t>(e) * Gc + j) * D + d]));
      }
      x[d] = __fmul_rn(f, inv);
    }
    return;
  }
  const int j = ord[K + q];
  const float* x0 = a.x0 + (static_cast<int64_t>(a.esc[e]) * (1 + Gc) + 1 + j) * D;
  const float* u = a.u + (static_cast<int64_t>(e) * Gc + j) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) x[d] = __fadd_rn(x0[d], u[d]);
}

}  // namespace

cudaError_t tokens_fine(const FineTokensArgs& a, cudaStream_t s) {
  if (!a.femb || !a.u || !a.x0 || !a.cls || !a.pos_fine || !a.order || !a.esc || !a.xf || a.Gc < 1 || a.K < 0 ||
      a.K > a.Gc || a.Wc * a.Wc != a.Gc || a.D < 1 || a.slots < 0 || a.slots > 65535)
    return cudaErrorInvalidValue;
  if (a.slots == 0) return cudaSuccess;
  const int carried = a.carried < 0 || a.carried > a.Gc - a.K ? a.Gc - a.K : a.carried;
  const int nf = 1 + 4 * a.K + carried + (carried < a.Gc - a.K ? 1 : 0);
  tokens_fine_kernel<<<dim3(nf, a.slots), dim3(a.D < 256 ? (a.D + 31) / 32 * 32 : 256), 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
