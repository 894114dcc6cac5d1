// The tensor-core GEMM shared by the q8 and bf16 files: mma.sync (m16n8k32 s8 / m16n8k16 bf16),
// ldmatrix fragments, a 3-stage cp.async pipeline, fused epilogues.
//
// Grid: x = row tiles (up to 2^31 - 1), y = column tiles. CTA tile BM x 64, 4 warps in a 2 x 2 grid
// (warp tile BM/2 x 32: BM/32 m16 tiles x 4 n8 tiles). Shared
// memory holds 64-byte K slices (32 bf16 or 64 int8 elements: two mma k-steps of 32 bytes each) with a
// row pitch of 80 bytes, so the 8 row addresses of every ldmatrix phase fall in distinct 16-byte bank
// groups (row r at word 20r mod 32: 0, 20, 8, 28, 16, 4, 24, 12). The fragment layouts of both types are
// the same in bytes (A: rows g / g+8, bytes 4*tig..; B: column n = g), so one mainloop serves both.
//
// Q8ROW (per-token re-quantisation) needs whole rows: that variant uses BM = 32 and loops over every
// 64-column block, staging the f32 epilogue values of the CTA's 32 rows in shared memory, then
// quantises each row (amax over all N columns) exactly as kernels::quantize_rows_q8.
#pragma once

#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm_tiles.h"

namespace triage::cuda::detail {

struct GemmParams {
  const uint8_t* a = nullptr;
  int64_t lda_b = 0;  // bytes
  const float* a_scale = nullptr;
  const uint8_t* w = nullptr;
  int64_t ldw_b = 0;  // bytes
  const float* w_scale = nullptr;
  const float* bias = nullptr;
  int M = 0, N = 0, k_bytes = 0;
  DynCount rows;
  float* y = nullptr;
  int64_t ldy = 0;
  __nv_bfloat16* yb = nullptr;
  int64_t ldyb = 0;
  int8_t* yq = nullptr;
  int64_t ldyq = 0;
  float* yq_scale = nullptr;
  int stage_pitch = 0;  // Q8ROW: floats per staged row
};

template <bool Q8, int BM, int OUT, bool GELU>
__global__ void __launch_bounds__(kGemmThreads) gemm_mma_kernel(const GemmParams p) {
  extern __shared__ __align__(16) uint8_t smem[];
  constexpr int MT = BM / 32;
  constexpr bool ROWQ = OUT == static_cast<int>(GemmOut::Q8ROW);
  using Acc = std::conditional_t<Q8, int, float>;

  const int rows = dev::live_rows(p.rows, p.M);
  const int m0 = blockIdx.x * BM;
  if (m0 >= rows) return;
  uint8_t* sA = smem;
  uint8_t* sB = smem + kGemmStages * BM * kGemmPitch;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, wm = warp >> 1, wn = warp & 1;
  const int KT = (p.k_bytes + kGemmBKB - 1) / kGemmBKB;

  auto load = [&](int stage, int kt, int n0) {
    uint8_t* as = sA + stage * BM * kGemmPitch;
    uint8_t* bs = sB + stage * kGemmBN * kGemmPitch;
    const int kb = kt * kGemmBKB;
    for (int c = tid; c < BM * 4; c += kGemmThreads) {
      const int r = c >> 2, kbyte = kb + (c & 3) * 16, gm = m0 + r;
      const bool ok = gm < rows && kbyte < p.k_bytes;
      dev::cp_async16(as + r * kGemmPitch + (c & 3) * 16, ok ? p.a + gm * p.lda_b + kbyte : p.a, ok ? 16 : 0);
    }
    for (int c = tid; c < kGemmBN * 4; c += kGemmThreads) {
      const int r = c >> 2, kbyte = kb + (c & 3) * 16, gn = n0 + r;
      const bool ok = gn < p.N && kbyte < p.k_bytes;
      dev::cp_async16(bs + r * kGemmPitch + (c & 3) * 16, ok ? p.w + gn * p.ldw_b + kbyte : p.w, ok ? 16 : 0);
    }
  };
  const int nblocks = ROWQ ? (p.N + kGemmBN - 1) / kGemmBN : 1;
  float* staged = reinterpret_cast<float*>(smem + gemm_pipe_bytes(BM));
  for (int nb = 0; nb < nblocks; ++nb) {
    const int n0 = ROWQ ? nb * kGemmBN : static_cast<int>(blockIdx.y) * kGemmBN;
    Acc acc[MT][4][4];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = Acc(0);

#pragma unroll
    for (int s = 0; s < kGemmStages - 1; ++s) {
      if (s < KT) load(s, s, n0);
      dev::cp_async_commit();
    }
    for (int kt = 0; kt < KT; ++kt) {
      dev::cp_async_wait<kGemmStages - 2>();
      __syncthreads();
      const int nk = kt + kGemmStages - 1;
      if (nk < KT) load(nk % kGemmStages, nk, n0);
      dev::cp_async_commit();
      const uint8_t* as = sA + (kt % kGemmStages) * BM * kGemmPitch;
      const uint8_t* bs = sB + (kt % kGemmStages) * kGemmBN * kGemmPitch;
#pragma unroll
      for (int ks = 0; ks < 2; ++ks) {
        uint32_t af[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
          dev::ldmatrix_x4(af[mt], as + (wm * (BM / 2) + mt * 16 + (lane & 15)) * kGemmPitch + ks * 32 + (lane >> 4) * 16);
        uint32_t bf[4][2];
#pragma unroll
        for (int nb2 = 0; nb2 < 2; ++nb2) {
          uint32_t r[4];
          dev::ldmatrix_x4(r, bs + (wn * 32 + nb2 * 16 + (lane & 7) + ((lane >> 4) << 3)) * kGemmPitch + ks * 32 +
                                  ((lane >> 3) & 1) * 16);
          bf[2 * nb2][0] = r[0];
          bf[2 * nb2][1] = r[1];
          bf[2 * nb2 + 1][0] = r[2];
          bf[2 * nb2 + 1][1] = r[3];
        }
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int nt = 0; nt < 4; ++nt) {
            if constexpr (Q8) dev::mma_s8(acc[mt][nt], af[mt], bf[nt][0], bf[nt][1]);
            else dev::mma_bf16(acc[mt][nt], af[mt], bf[nt][0], bf[nt][1]);
          }
      }
    }
    dev::cp_async_wait<0>();

    // Epilogue: (row, col) of acc[mt][nt][e] per the mma accumulator layout.
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int nt = 0; nt < 4; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int gm = m0 + wm * (BM / 2) + mt * 16 + (lane >> 2) + (e >= 2 ? 8 : 0);
          const int gn = n0 + wn * 32 + nt * 8 + (lane & 3) * 2 + (e & 1);
          if (gm >= rows || gn >= p.N) continue;
          float v;
          if constexpr (Q8) v = __fmul_rn(static_cast<float>(acc[mt][nt][e]), __fmul_rn(p.a_scale[gm], p.w_scale[gn]));
          else v = acc[mt][nt][e];
          if (p.bias) v = __fadd_rn(v, p.bias[gn]);
          if constexpr (GELU) v = dev::gelu(v);
          if constexpr (OUT == static_cast<int>(GemmOut::F32)) {
            p.y[gm * p.ldy + gn] = v;
          } else if constexpr (OUT == static_cast<int>(GemmOut::F32_ACC)) {
            float* yp = p.y + gm * p.ldy + gn;
            *yp = __fadd_rn(*yp, v);
          } else if constexpr (OUT == static_cast<int>(GemmOut::BF16)) {
            p.yb[gm * p.ldyb + gn] = __float2bfloat16_rn(v);
          } else {
            staged[(gm - m0) * p.stage_pitch + gn] = v;
          }
        }
    if constexpr (ROWQ) __syncthreads();  // pipeline smem reused by the next block; staged rows complete
  }

  if constexpr (ROWQ) {
    for (int r = warp; r < BM; r += kGemmThreads / 32) {
      const int gm = m0 + r;
      if (gm >= rows) break;
      const float* sr = staged + r * p.stage_pitch;
      float amax = 0.f;
      for (int c = lane; c < p.N; c += 32) amax = fmaxf(amax, fabsf(sr[c]));
      amax = dev::warp_max(amax);
      int8_t* yr = p.yq + gm * p.ldyq;
      if (!(amax > 0.f)) {
        for (int c = lane; c < p.N; c += 32) yr[c] = 0;
        if (lane == 0) p.yq_scale[gm] = 0.f;
        continue;
      }
      const float inv = __fdiv_rn(127.f, amax);
      for (int c = lane; c < p.N; c += 32) yr[c] = dev::quant_q8(sr[c], inv);
      if (lane == 0) p.yq_scale[gm] = __fdiv_rn(amax, 127.f);
    }
  }
}

template <bool Q8>
cudaError_t gemm_launch(const GemmArgs& a, const GemmConfig& cfg, GemmOut out, cudaStream_t s) {
  GemmParams p;
  const int esz = Q8 ? 1 : 2;
  p.a = static_cast<const uint8_t*>(a.a);
  p.lda_b = a.lda * esz;
  p.a_scale = a.a_scale;
  p.w = static_cast<const uint8_t*>(a.w);
  p.ldw_b = static_cast<int64_t>(a.K) * esz;
  p.w_scale = a.w_scale;
  p.bias = a.bias;
  p.M = a.M;
  p.N = a.N;
  p.k_bytes = a.K * esz;
  p.rows = a.rows;
  p.y = a.y;
  p.ldy = a.ldy;
  p.yb = static_cast<__nv_bfloat16*>(a.yb);
  p.ldyb = a.ldyb;
  p.yq = a.yq;
  p.ldyq = a.ldyq;
  p.yq_scale = a.yq_scale;
  p.stage_pitch = gemm_stage_pitch(a.N);
  if (a.M <= 0 || a.N <= 0) return cudaSuccess;
  const dim3 block(kGemmThreads);
  const size_t smem = cfg.smem_bytes;
  if (out == GemmOut::Q8ROW) {
    const dim3 grid((a.M + kGemmBMRowq - 1) / kGemmBMRowq, 1);
    if (a.gelu) gemm_mma_kernel<Q8, 32, 3, true><<<grid, block, smem, s>>>(p);
    else gemm_mma_kernel<Q8, 32, 3, false><<<grid, block, smem, s>>>(p);
    return cudaGetLastError();
  }
  const dim3 grid((a.M + kGemmBM - 1) / kGemmBM, (a.N + kGemmBN - 1) / kGemmBN);
  switch (out) {
    case GemmOut::F32:
      if (a.gelu) gemm_mma_kernel<Q8, 64, 0, true><<<grid, block, smem, s>>>(p);
      else gemm_mma_kernel<Q8, 64, 0, false><<<grid, block, smem, s>>>(p);
      break;
    case GemmOut::F32_ACC:
      if (a.gelu) gemm_mma_kernel<Q8, 64, 1, true><<<grid, block, smem, s>>>(p);
      else gemm_mma_kernel<Q8, 64, 1, false><<<grid, block, smem, s>>>(p);
      break;
    default:
      if (a.gelu) gemm_mma_kernel<Q8, 64, 2, true><<<grid, block, smem, s>>>(p);
      else gemm_mma_kernel<Q8, 64, 2, false><<<grid, block, smem, s>>>(p);
      break;
  }
  return cudaGetLastError();
}

template <bool Q8>
cudaError_t gemm_set_attributes(int smem_optin) {
  cudaError_t e = cudaFuncSetAttribute(gemm_mma_kernel<Q8, 32, 3, true>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_optin);
  if (e == cudaSuccess)
    e = cudaFuncSetAttribute(gemm_mma_kernel<Q8, 32, 3, false>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_optin);
  return e;
}

}  // namespace triage::cuda::detail
