// Scalar reference f32 GEMM: y = x W^T, plain loops, separate multiply and add (no FMA), k in order.
#include "kernels/cpu/internal.h"

namespace triage::kernels::detail {

void gemm_f32_scalar(const float* wp, int n, int k, const float* x, int64_t ldx, const GemmOut& o,
                     int rows, int n0, int n1) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = o.y + r * o.ldy;
    for (int j = n0; j < n1; ++j) {
      const float* wr = wp + size_t(j) * k;
      float acc = 0.f;
      for (int kk = 0; kk < k; ++kk) acc += xr[kk] * wr[kk];
      float v = acc;
      if (o.bias) v += o.bias[j];
      if (o.gelu) v = gelu_ref(v);
      if (o.accumulate) v = yr[j] + v;
      yr[j] = v;
    }
  }
}

}  // namespace triage::kernels::detail
