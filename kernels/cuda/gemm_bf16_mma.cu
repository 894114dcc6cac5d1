// bf16 GEMM on tensor cores: bf16 x bf16 -> f32 with mma.sync m16n8k16 (gemm_mma.cuh). Used for every
// linear whose weights are stored f32 / f16 / bf16 (converted to bf16 once at load) and for the patch
// projection.
#include "kernels/cuda/gemm_mma.cuh"

namespace triage::cuda::detail {

cudaError_t gemm_bf16_launch(const GemmArgs& a, const GemmConfig& cfg, GemmOut out, cudaStream_t s) {
  return gemm_launch<false>(a, cfg, out, s);
}
cudaError_t gemm_bf16_init(int smem_optin) { return gemm_set_attributes<false>(smem_optin); }

}  // namespace triage::cuda::detail
