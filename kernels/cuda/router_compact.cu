// The router on the device, and compaction of the escalated images: one block; per image the softmax
// (max-subtracted, f32, summed in class order, times 1/sum) and rt::decide_coarse's rule (a defect
// class exits when its P >= coarse_defect, `good` exits when P(good) >= coarse_good, compared in double),
// then an exclusive prefix sum over the escalate flags gives each escalated image its dense slot:
// esc[slot] = image (ascending) and *m = the count. The host re-derives every decision with
// runtime/router.cpp from the same logits (CudaEngine); expf here versus the host's exp can only move a
// probability by an ulp, and a decision that flips on it is re-run from the host's flags.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

constexpr int kThreads = 256;

__device__ int decide(const RouterArgs& a, int i) {
  if (a.force == 1) return 0;
  if (a.force >= 2) return 1;
  const float* l = a.logits + static_cast<int64_t>(i) * a.ncls;
  float mx = l[0];
  for (int c = 1; c < a.ncls; ++c) mx = l[c] > mx ? l[c] : mx;
  float sum = 0.f;
  for (int c = 0; c < a.ncls; ++c) sum = __fadd_rn(sum, expf(__fsub_rn(l[c], mx)));
  const float inv = __fdiv_rn(1.f, sum);
  auto prob = [&](int c) { return __fmul_rn(expf(__fsub_rn(l[c], mx)), inv); };
  int best = -1;
  float pb = 0.f;
  for (int c = 0; c < a.ncls; ++c) {
    if (c == a.good) continue;
    const float p = prob(c);
    if (best < 0 || p > pb) {
      best = c;
      pb = p;
    }
  }
  if (best >= 0 && static_cast<double>(pb) >= a.coarse_defect) return 0;
  if (a.good >= 0 && static_cast<double>(prob(a.good)) >= a.coarse_good) return 0;
  return 1;
}

__global__ void __launch_bounds__(kThreads) router_kernel(const RouterArgs a) {
  __shared__ int warp_tot[kThreads / 32];
  __shared__ int running;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int n = *a.n < a.images ? *a.n : a.images;
  if (tid == 0) running = 0;
  __syncthreads();
  for (int base = 0; base < a.images; base += kThreads) {
    const int i = base + tid;
    const int f = i < n ? decide(a, i) : 0;
    if (i < a.images) a.flags[i] = f;
    int incl = f;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const int v = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += v;
    }
    if (lane == 31) warp_tot[warp] = incl;
    __syncthreads();
    int before = running;
    for (int w = 0; w < warp; ++w) before += warp_tot[w];
    if (f) a.esc[before + incl - 1] = i;
    __syncthreads();
    if (tid == kThreads - 1) running = before + incl;
    __syncthreads();
  }
  if (tid == 0) *a.m = running;
}

}  // namespace

cudaError_t router_compact(const RouterArgs& a, cudaStream_t s) {
  if (!a.logits || !a.n || !a.flags || !a.esc || !a.m || a.ncls < 1 || a.good < -1 || a.good >= a.ncls ||
      a.images < 1 || a.force < 0 || a.force > 3)
    return cudaErrorInvalidValue;
  router_kernel<<<1, kThreads, 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
