// Row kernels: LayerNorm fused with the output format of the consuming GEMM (int8 per-token + scale,
// bf16, or f32), and the same without the norm (per-token quantisation / narrowing of f32 rows).
// One warp per row; statistics as the CPU reference (mean, then centred squares, rstd = 1/sqrt(var+eps)),
// reduced lane-strided then across the warp. Element operations are explicitly rounded (no FMA
// contraction) and the quantisation is exactly kernels::quantize_rows_q8 (round half to even, +-127).
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

constexpr int kRowsPerBlock = 8;

template <int OUT, bool NORM>
__global__ void __launch_bounds__(kRowsPerBlock * 32) rows_kernel(const RowArgs a) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int r = blockIdx.x * kRowsPerBlock + warp;
  if (r >= dev::live_rows(a.live, a.rows)) return;
  const float* x = dev::row_ptr(a.x, a.in, r);
  const int dim = a.dim;
  float mean = 0.f, rstd = 1.f;
  if constexpr (NORM) {
    float s = 0.f;
    for (int i = lane; i < dim; i += 32) s = __fadd_rn(s, x[i]);
    s = dev::warp_sum(s);
    mean = __fdiv_rn(s, static_cast<float>(dim));
    float q = 0.f;
    for (int i = lane; i < dim; i += 32) {
      const float d = __fsub_rn(x[i], mean);
      q = __fadd_rn(q, __fmul_rn(d, d));
    }
    q = dev::warp_sum(q);
    rstd = __fdiv_rn(1.f, __fsqrt_rn(__fadd_rn(__fdiv_rn(q, static_cast<float>(dim)), a.eps)));
  }
  auto val = [&](int i) {
    float v = x[i];
    if constexpr (NORM) {
      v = __fmul_rn(__fsub_rn(v, mean), rstd);
      v = __fadd_rn(__fmul_rn(v, a.gamma ? a.gamma[i] : 1.f), a.beta ? a.beta[i] : 0.f);
    }
    return v;
  };
  if constexpr (OUT == static_cast<int>(RowOut::F32)) {
    float* y = static_cast<float*>(a.y) + static_cast<int64_t>(r) * a.ldy;
    for (int i = lane; i < dim; i += 32) y[i] = val(i);
  } else if constexpr (OUT == static_cast<int>(RowOut::BF16)) {
    __nv_bfloat16* y = static_cast<__nv_bfloat16*>(a.y) + static_cast<int64_t>(r) * a.ldy;
    for (int i = lane; i < dim; i += 32) y[i] = __float2bfloat16_rn(val(i));
  } else {
    int8_t* y = static_cast<int8_t*>(a.y) + static_cast<int64_t>(r) * a.ldy;
    float amax = 0.f;
    for (int i = lane; i < dim; i += 32) amax = fmaxf(amax, fabsf(val(i)));
    amax = dev::warp_max(amax);
    if (!(amax > 0.f)) {
      for (int i = lane; i < dim; i += 32) y[i] = 0;
      if (lane == 0) a.y_scale[r] = 0.f;
      return;
    }
    const float inv = __fdiv_rn(127.f, amax);
    for (int i = lane; i < dim; i += 32) y[i] = dev::quant_q8(val(i), inv);
    if (lane == 0) a.y_scale[r] = __fdiv_rn(amax, 127.f);
  }
}

}  // namespace

cudaError_t layernorm_rows(const RowArgs& a, cudaStream_t s) {
  if (!a.x || !a.y || a.dim < 1 || a.rows < 0 || (a.out == RowOut::Q8 && !a.y_scale) || a.ldy < a.dim)
    return cudaErrorInvalidValue;
  if (a.rows == 0) return cudaSuccess;
  const dim3 grid((a.rows + kRowsPerBlock - 1) / kRowsPerBlock), block(kRowsPerBlock * 32);
  switch (a.out) {
    case RowOut::F32:
      if (a.norm) rows_kernel<0, true><<<grid, block, 0, s>>>(a);
      else rows_kernel<0, false><<<grid, block, 0, s>>>(a);
      break;
    case RowOut::BF16:
      if (a.norm) rows_kernel<1, true><<<grid, block, 0, s>>>(a);
      else rows_kernel<1, false><<<grid, block, 0, s>>>(a);
      break;
    case RowOut::Q8:
      if (a.norm) rows_kernel<2, true><<<grid, block, 0, s>>>(a);
      else rows_kernel<2, false><<<grid, block, 0, s>>>(a);
      break;
  }
  return cudaGetLastError();
}

}  // namespace triage::cuda
