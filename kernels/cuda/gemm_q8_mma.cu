// q8 GEMM on tensor cores: int8 x int8 -> int32 with mma.sync m16n8k32 (exact accumulation), dequantised
// epilogue v = (float)acc * (a_scale[m] * w_scale[n]) as the CPU reference (gemm_mma.cuh).
#include "kernels/cuda/gemm_mma.cuh"

namespace triage::cuda::detail {

cudaError_t gemm_q8_launch(const GemmArgs& a, const GemmConfig& cfg, GemmOut out, cudaStream_t s) {
  return gemm_launch<true>(a, cfg, out, s);
}
cudaError_t gemm_q8_init(int smem_optin) { return gemm_set_attributes<true>(smem_optin); }

}  // namespace triage::cuda::detail
