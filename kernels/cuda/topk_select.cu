// Top-k patch selection per escalated image (docs/model-family.md coarse pass step 6): rank(j) =
// #{i : key_i > key_j or (key_i == key_j and i < j)} with key = score (NaN -> -inf), selected iff
// rank < k; order[e] = the selected ascending, then the kept ascending (positions by counting). The
// strict total order makes the result identical to the CPU's sort. O(Gc^2) per image, Gc <= 1024.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

__global__ void __launch_bounds__(256) select_kernel(const SelectArgs a) {
  extern __shared__ float sh[];
  float* key = sh;
  int* sel = reinterpret_cast<int*>(sh + a.Gc);
  const int e = blockIdx.x;
  if (e >= dev::live_rows(a.live, a.slots)) return;
  const int Gc = a.Gc, img = a.esc ? a.esc[e] : e;
  const float* r = a.scores + static_cast<int64_t>(img) * Gc;
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) key[j] = isnan(r[j]) ? -INFINITY : r[j];
  __syncthreads();
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) {
    const float kj = key[j];
    int rank = 0;
    for (int i = 0; i < Gc; ++i) rank += (key[i] > kj) || (key[i] == kj && i < j);
    sel[j] = rank < a.k;
  }
  __syncthreads();
  int32_t* o = a.order + static_cast<int64_t>(e) * Gc;
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) {
    int before = 0;
    for (int i = 0; i < j; ++i) before += sel[i];
    o[sel[j] ? before : a.k + (j - before)] = j;
  }
}

}  // namespace

cudaError_t topk_select(const SelectArgs& a, cudaStream_t s) {
  if (!a.scores || !a.order || a.Gc < 1 || a.Gc > 1024 || a.k < 0 || a.k > a.Gc || a.slots < 0) return cudaErrorInvalidValue;
  if (a.slots == 0) return cudaSuccess;
  select_kernel<<<a.slots, 256, static_cast<size_t>(a.Gc) * 8, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
