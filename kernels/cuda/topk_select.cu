// Top-k patch selection per escalated image (docs/model-family.md coarse pass step 6): rank(j) =
// #{i : key_i > key_j or (key_i == key_j and i < j)} with key = score (NaN -> -inf), selected iff
// rank < k; order[e] = the selected ascending, then the kept ascending (positions by counting); with
// token skipping, dropped patches rank after kept ones and the kept split into carried | fused. The
// strict total order makes the result identical to the CPU's sort. O(Gc^2) per image, Gc <= 1024.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

__global__ void __launch_bounds__(256) select_kernel(const SelectArgs a) {
  extern __shared__ float sh[];
  float* key = sh;
  int* cls = reinterpret_cast<int*>(sh + a.Gc);  // 0 selected, 1 carried, 2 fused
  int* drop = cls + a.Gc;
  const int e = blockIdx.x;
  if (e >= dev::live_rows(a.live, a.slots)) return;
  const int Gc = a.Gc, img = a.esc ? a.esc[e] : e;
  const int carried = a.carried < 0 || a.carried > Gc - a.k ? Gc - a.k : a.carried;
  const float* r = a.scores + static_cast<int64_t>(img) * Gc;
  const int32_t* pos = a.pos ? a.pos + static_cast<int64_t>(img) * Gc : nullptr;
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) {
    key[j] = isnan(r[j]) ? -INFINITY : r[j];
    drop[j] = pos && pos[j] == 0;
  }
  __syncthreads();
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) {
    const float kj = key[j];
    const int dj = drop[j];
    int rank = 0;
    for (int i = 0; i < Gc; ++i)
      rank += drop[i] < dj || (drop[i] == dj && ((key[i] > kj) || (key[i] == kj && i < j)));
    cls[j] = rank < a.k ? 0 : rank < a.k + carried ? 1 : 2;
  }
  __syncthreads();
  int32_t* o = a.order + static_cast<int64_t>(e) * Gc;
  for (int j = threadIdx.x; j < Gc; j += blockDim.x) {
    int before = 0;
    for (int i = 0; i < j; ++i) before += cls[i] == cls[j];
    o[(cls[j] == 0 ? 0 : cls[j] == 1 ? a.k : a.k + carried) + before] = j;
  }
}

}  // namespace

cudaError_t topk_select(const SelectArgs& a, cudaStream_t s) {
  if (!a.scores || !a.order || a.Gc < 1 || a.Gc > 1024 || a.k < 0 || a.k > a.Gc || a.slots < 0) return cudaErrorInvalidValue;
  if (a.slots == 0) return cudaSuccess;
  select_kernel<<<a.slots, 256, static_cast<size_t>(a.Gc) * 12, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
