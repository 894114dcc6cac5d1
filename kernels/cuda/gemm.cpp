// GEMM dispatcher (host only): tile configuration, argument checks, the Q8ROW fallback (f32 staging +
// quantise pass) when a row does not fit in shared memory.
#include <cstdint>

#include "kernels/cuda/gemm_tiles.h"
#include "kernels/cuda/kernels.h"

namespace triage::cuda {
namespace detail {
cudaError_t gemm_q8_launch(const GemmArgs& a, const GemmConfig& cfg, GemmOut out, cudaStream_t s);
cudaError_t gemm_bf16_launch(const GemmArgs& a, const GemmConfig& cfg, GemmOut out, cudaStream_t s);
cudaError_t gemm_q8_init(int smem_optin);
cudaError_t gemm_bf16_init(int smem_optin);
}  // namespace detail

cudaError_t kernels_init(int smem_optin) {
  cudaError_t e = detail::gemm_q8_init(smem_optin);
  if (e == cudaSuccess) e = detail::gemm_bf16_init(smem_optin);
  return e;
}

bool gemm_rowq_fused(int N, int smem_optin) {
  return N > 0 && detail::gemm_rowq_smem_bytes(N) <= static_cast<size_t>(smem_optin);
}

GemmConfig gemm_config(GemmOut out, int N, int K, GemmType type, int smem_optin) {
  (void)K;
  (void)type;
  GemmConfig c;
  c.bn = detail::kGemmBN;
  c.threads = detail::kGemmThreads;
  c.stages = detail::kGemmStages;
  if (out == GemmOut::Q8ROW && gemm_rowq_fused(N, smem_optin)) {
    c.bm = detail::kGemmBMRowq;
    c.rowq_fused = true;
    c.smem_bytes = detail::gemm_rowq_smem_bytes(N);
  } else {
    c.bm = detail::kGemmBM;
    c.rowq_fused = false;
    c.smem_bytes = static_cast<size_t>(detail::gemm_pipe_bytes(detail::kGemmBM));
  }
  return c;
}

const char* gemm_check(const GemmArgs& a) {
  const int esz = a.type == GemmType::Q8 ? 1 : 2;
  if (a.M < 0 || a.N < 1 || a.K < 1) return "gemm: M >= 0, N >= 1 and K >= 1 required";
  if (!a.a || !a.w) return "gemm: A and W must not be null";
  if ((static_cast<int64_t>(a.K) * esz) % 16 != 0) return "gemm: K * element size must be a multiple of 16 bytes";
  if ((a.lda * esz) % 16 != 0 || a.lda < a.K) return "gemm: lda must be >= K and a multiple of 16 bytes";
  if (reinterpret_cast<uintptr_t>(a.a) % 16 != 0 || reinterpret_cast<uintptr_t>(a.w) % 16 != 0)
    return "gemm: A and W must be 16-byte aligned";
  if (a.type == GemmType::Q8 && (!a.a_scale || !a.w_scale)) return "gemm: q8 needs a_scale and w_scale";
  if (a.rows.count && a.rows.per < 1) return "gemm: rows.per must be >= 1";
  switch (a.out) {
    case GemmOut::F32:
    case GemmOut::F32_ACC:
      if (!a.y || a.ldy < a.N) return "gemm: F32 output needs y and ldy >= N";
      break;
    case GemmOut::BF16:
      if (!a.yb || a.ldyb < a.N) return "gemm: BF16 output needs yb and ldyb >= N";
      break;
    case GemmOut::Q8ROW:
      if (!a.yq || !a.yq_scale || a.ldyq < a.N) return "gemm: Q8ROW output needs yq, yq_scale and ldyq >= N";
      break;
  }
  return nullptr;
}

cudaError_t gemm(const GemmArgs& a, cudaStream_t s) {
  if (gemm_check(a)) return cudaErrorInvalidValue;
  int dev = 0, optin = a.smem_optin;
  // The row-quantising variant's size depends on the device limit.
  cudaError_t e = cudaSuccess;
  if (a.out == GemmOut::Q8ROW && optin <= 0) {
    e = cudaGetDevice(&dev);
    if (e == cudaSuccess) e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (e != cudaSuccess) return e;
  }
  const GemmConfig cfg = gemm_config(a.out, a.N, a.K, a.type, optin);
  auto launch = [&](const GemmArgs& x, const GemmConfig& c, GemmOut o) {
    return x.type == GemmType::Q8 ? detail::gemm_q8_launch(x, c, o, s) : detail::gemm_bf16_launch(x, c, o, s);
  };
  if (a.out != GemmOut::Q8ROW || cfg.rowq_fused) return launch(a, cfg, a.out);
  // Fallback: f32 rows into the staging buffer, then quantise them.
  if (!a.rowq_staging) return cudaErrorInvalidValue;
  GemmArgs f = a;
  f.out = GemmOut::F32;
  f.y = a.rowq_staging;
  f.ldy = a.N;
  e = launch(f, gemm_config(GemmOut::F32, a.N, a.K, a.type, optin), GemmOut::F32);
  if (e != cudaSuccess) return e;
  RowArgs r;
  r.x = a.rowq_staging;
  r.in.ld = a.N;
  r.rows = a.M;
  r.live = a.rows;
  r.dim = a.N;
  r.norm = false;
  r.out = RowOut::Q8;
  r.y = a.yq;
  r.ldy = a.ldyq;
  r.y_scale = a.yq_scale;
  return layernorm_rows(r, s);
}

}  // namespace triage::cuda
