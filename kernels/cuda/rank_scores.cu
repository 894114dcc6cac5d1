// Patch ranking scores of the coarse pass: r[i][j] = sum over the R ranked layers (increasing) of the
// head mean of the CLS attention probability on patch key 1 + j, in the CPU engine's order of
// operations (sum over heads, divide by H, add to the running score), so equal inputs give equal bits.
// With token skipping the key of patch j is its position in the kept sequence; dropped patches are skipped.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

__global__ void rank_kernel(const RankArgs a) {
  const int i = blockIdx.x;
  if (i >= dev::live_rows(a.live, a.images)) return;
  const int64_t stride = a.layer_stride ? a.layer_stride : static_cast<int64_t>(a.layer_images) * a.H * a.N;
  for (int j = threadIdx.x; j < a.Gc; j += blockDim.x) {
    const int q = a.pos ? a.pos[static_cast<int64_t>(i) * a.Gc + j] : 1 + j;
    if (q == 0) continue;  // dropped by token skipping: keeps its skip attention
    float r = 0.f;
    for (int l = 0; l < a.R; ++l) {
      const float* p = a.cls_probs + l * stride + static_cast<int64_t>(i) * a.H * a.N + q;
      float m = 0.f;
      for (int h = 0; h < a.H; ++h) m = __fadd_rn(m, p[static_cast<int64_t>(h) * a.N]);
      m = __fdiv_rn(m, static_cast<float>(a.H));
      r = l == 0 ? m : __fadd_rn(r, m);
    }
    a.scores[static_cast<int64_t>(i) * a.Gc + j] = r;
  }
}

}  // namespace

cudaError_t rank_scores(const RankArgs& a, cudaStream_t s) {
  if (!a.cls_probs || !a.scores || a.R < 1 || a.H < 1 || a.Gc < 1 || (!a.pos && a.N < a.Gc + 1) || a.N < 2 ||
      a.images < 0 || a.layer_images < a.images || a.layer_stride < 0) return cudaErrorInvalidValue;
  if (a.images == 0) return cudaSuccess;
  rank_kernel<<<a.images, 128, 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
