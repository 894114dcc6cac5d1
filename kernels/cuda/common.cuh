// Device helpers shared by the CUDA kernel files (CUDA sources only).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/kernels.h"

namespace triage::cuda::dev {

// Live rows of a launch: *count * per, or the static maximum.
__device__ __forceinline__ int live_rows(const DynCount& c, int static_rows) {
  if (!c.count) return static_rows;
  const int n = *c.count * c.per;
  return n < static_rows ? n : static_rows;
}

__device__ __forceinline__ const float* row_ptr(const float* base, const RowMap& m, int r) {
  if (m.per <= 0) return base + static_cast<int64_t>(r) * m.ld;
  const int gi = r / m.per;
  const int g = m.map ? m.map[gi] : gi;
  return base + static_cast<int64_t>(g) * m.group_stride + static_cast<int64_t>(m.off + r % m.per) * m.ld;
}

// The CPU reference GELU (kernels/cpu gelu_ref): 0.5 v (1 + erf(v / sqrt 2)), no contraction.
__device__ __forceinline__ float gelu(float v) {
  return __fmul_rn(__fmul_rn(0.5f, v), __fadd_rn(1.f, erff(__fmul_rn(v, 0.70710678118654752f))));
}

// Per-token quantisation of one value with inv = 127 / amax (round half to even, clamp to +-127).
__device__ __forceinline__ int8_t quant_q8(float v, float inv) {
  float q = rintf(__fmul_rn(v, inv));
  q = q > 127.f ? 127.f : q < -127.f ? -127.f : q;
  return static_cast<int8_t>(q);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// ---- sm_80+ primitives: cp.async, ldmatrix, mma.sync -----------------------------------------
__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy global -> shared; src_bytes 0 zero-fills the destination (tails).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(p)));
}

// D = A * B + D, m16n8k32, s8 x s8 -> s32 (exact).
__device__ __forceinline__ void mma_s8(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// D = A * B + D, m16n8k16, bf16 x bf16 -> f32.
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

}  // namespace triage::cuda::dev

// Launch helper: returns the launch status.
#define TRIAGE_CUDA_LAUNCHED() cudaGetLastError()
