// Tile constants of the tensor-core GEMM (gemm_mma.cuh), shared with the host-side planner so shared
// memory sizes are computed in one place.
#pragma once

#include <cstddef>

#ifdef __CUDACC__
#define TRIAGE_HD __host__ __device__
#else
#define TRIAGE_HD
#endif

namespace triage::cuda::detail {

inline constexpr int kGemmBN = 64;       // CTA columns
inline constexpr int kGemmBKB = 64;      // K bytes per pipeline stage (32 bf16 / 64 int8)
inline constexpr int kGemmPitch = 80;    // shared-memory row pitch in bytes (64 + 16: conflict-free ldmatrix)
inline constexpr int kGemmStages = 3;    // cp.async pipeline depth
inline constexpr int kGemmThreads = 128; // 4 warps
inline constexpr int kGemmBM = 64;       // CTA rows (F32 / F32_ACC / BF16 outputs)
inline constexpr int kGemmBMRowq = 32;   // CTA rows of the Q8ROW variant (owns whole rows)

TRIAGE_HD constexpr int gemm_pipe_bytes(int bm) { return kGemmStages * (bm + kGemmBN) * kGemmPitch; }
// Floats per staged row of the Q8ROW variant: N rounded up to the column block, + 4 (bank spread).
TRIAGE_HD constexpr int gemm_stage_pitch(int n) { return (n + kGemmBN - 1) / kGemmBN * kGemmBN + 4; }
TRIAGE_HD constexpr size_t gemm_rowq_smem_bytes(int n) {
  return static_cast<size_t>(gemm_pipe_bytes(kGemmBMRowq)) +
         static_cast<size_t>(kGemmBMRowq) * static_cast<size_t>(gemm_stage_pitch(n)) * sizeof(float);
}

}  // namespace triage::cuda::detail
