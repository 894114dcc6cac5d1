// Scatter of the compacted fine-pass results back to the images' positions: dst[idx[e]] = src[e].
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

__global__ void scatter_kernel(const ScatterArgs a) {
  const int e = blockIdx.x;
  if (e >= dev::live_rows(a.live, a.rows)) return;
  const int64_t d = static_cast<int64_t>(a.idx[e]) * a.cols, s = static_cast<int64_t>(e) * a.cols;
  for (int c = threadIdx.x; c < a.cols; c += blockDim.x) a.dst[d + c] = a.src[s + c];
}

}  // namespace

cudaError_t scatter_rows(const ScatterArgs& a, cudaStream_t s) {
  if (!a.src || !a.idx || !a.dst || a.cols < 1 || a.rows < 0) return cudaErrorInvalidValue;
  if (a.rows == 0) return cudaSuccess;
  scatter_kernel<<<a.rows, 32, 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
