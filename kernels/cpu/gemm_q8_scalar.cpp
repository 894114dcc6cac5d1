// Scalar reference q8 GEMM: int8 x int8 -> exact int32 accumulation, then
// v = (float)acc * (x_scale[m] * w_scale[n]) (+ bias, GELU, residual) in that order.
#include "kernels/cpu/internal.h"

namespace triage::kernels::detail {

void gemm_q8_scalar(const uint8_t* wp, int n, int k, const int8_t* x, int64_t ldx,
                    const float* x_scale, const GemmOut& o, int rows, int n0, int n1) {
  const int8_t* w = reinterpret_cast<const int8_t*>(wp);
  const float* ws = reinterpret_cast<const float*>(wp + align64(gemm_q8_weight_bytes(Isa::Scalar, n, k)));
  for (int r = 0; r < rows; ++r) {
    const int8_t* xr = x + r * ldx;
    float* yr = o.y + r * o.ldy;
    for (int j = n0; j < n1; ++j) {
      const int8_t* wr = w + size_t(j) * k;
      int32_t acc = 0;
      for (int kk = 0; kk < k; ++kk) acc += int32_t(xr[kk]) * int32_t(wr[kk]);
      float v = float(acc) * (x_scale[r] * ws[j]);
      if (o.bias) v += o.bias[j];
      if (o.gelu) v = gelu_ref(v);
      if (o.accumulate) v = yr[j] + v;
      yr[j] = v;
    }
  }
}

}  // namespace triage::kernels::detail
