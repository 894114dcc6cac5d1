// Stem convolution 3x3 stride 2 pad 1, NHWC f32, + folded-BN bias + ReLU; one thread per output element
// (consecutive threads: consecutive output channels, so weight reads coalesce and input reads
// broadcast). Accumulation order and rounding are the scalar reference's (bias, then ky, kx, ci with
// separately rounded multiply and add), so results equal kernels::conv3x3s2_f32(Scalar) bit for bit.
// Region mode reads a window of a larger image in place (the fine pass's re-split regions); the patch
// output mode writes the patch-projection GEMM's bf16 input rows directly (gather fused).
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

template <bool PATCH>
__global__ void __launch_bounds__(256) conv_kernel(const ConvArgs a) {
  const int z = blockIdx.y;
  if (z >= dev::live_rows(a.live, a.z)) return;
  const int ho = (a.h + 1) / 2, wo = (a.w + 1) / 2;
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= ho * wo * a.cout) return;
  const int co = idx % a.cout, pix = idx / a.cout, ox = pix % wo, oy = pix / wo;
  const float* in;
  if (a.order) {
    const int e = z / a.regions;
    const int j = a.order[static_cast<int64_t>(e) * a.order_stride + z % a.regions];
    const int cy = j / a.wc, cx = j % a.wc;
    in = a.in + static_cast<int64_t>(e) * a.in_stride + static_cast<int64_t>(cy) * a.h * a.ld_in +
         static_cast<int64_t>(cx) * a.w * a.cin;
  } else {
    in = a.in + static_cast<int64_t>(z) * a.in_stride;
  }
  const int cp = (a.cout + 7) / 8 * 8;
  float acc = a.bias ? a.bias[co] : 0.f;
  for (int ky = 0; ky < 3; ++ky) {
    const int iy = 2 * oy - 1 + ky;
    if (iy < 0 || iy >= a.h) continue;
    for (int kx = 0; kx < 3; ++kx) {
      const int ix = 2 * ox - 1 + kx;
      if (ix < 0 || ix >= a.w) continue;
      const float* src = in + static_cast<int64_t>(iy) * a.ld_in + static_cast<int64_t>(ix) * a.cin;
      const float* wt = a.wp + static_cast<int64_t>(ky * 3 + kx) * a.cin * cp + co;
      for (int ci = 0; ci < a.cin; ++ci) acc = __fadd_rn(acc, __fmul_rn(src[ci], wt[static_cast<int64_t>(ci) * cp]));
    }
  }
  if (a.relu && acc < 0.f) acc = 0.f;
  if constexpr (PATCH) {
    const int pk = a.pk, tw = wo / pk, tokens = (ho / pk) * tw, K = pk * pk * a.cout;
    const int token = (oy / pk) * tw + ox / pk, k = ((oy % pk) * pk + ox % pk) * a.cout + co;
    static_cast<__nv_bfloat16*>(a.out_patch)[(static_cast<int64_t>(z) * tokens + token) * K + k] = __float2bfloat16_rn(acc);
  } else {
    a.out[static_cast<int64_t>(z) * ho * wo * a.cout + idx] = acc;
  }
}

}  // namespace

cudaError_t conv3x3s2(const ConvArgs& a, cudaStream_t s) {
  if (!a.in || !a.wp || a.h < 1 || a.w < 1 || a.cin < 1 || a.cout < 1 || a.z < 0 || a.z > 65535 ||
      (!a.out && !a.out_patch) || (a.out_patch && (a.pk < 1 || ((a.h + 1) / 2) % a.pk || ((a.w + 1) / 2) % a.pk)) ||
      (a.order && (a.regions < 1 || a.wc < 1)) || (a.live.count && a.live.per < 1))
    return cudaErrorInvalidValue;
  const int outs = ((a.h + 1) / 2) * ((a.w + 1) / 2) * a.cout;
  if (a.z == 0) return cudaSuccess;
  const dim3 grid((outs + 255) / 256, a.z), block(256);
  if (a.out_patch) conv_kernel<true><<<grid, block, 0, s>>>(a);
  else conv_kernel<false><<<grid, block, 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
