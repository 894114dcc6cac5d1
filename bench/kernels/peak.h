// Register-only throughput loops that measure this machine's peak per ISA (one thread).
// Each returns the operations executed (FLOP or int8 OP, multiply and add counted separately).
#pragma once
#include <cstdint>

namespace triage::bench {
double peak_fma_avx2(int64_t iters);     // vfmadd231ps ymm: 16 FLOP each (10 chains)
double peak_madd_avx2(int64_t iters);    // vpmaddwd + vpaddd ymm: 32 int OP each (the AVX2 q8 path)
double peak_fma_avx512(int64_t iters);   // vfmadd231ps zmm: 32 FLOP each
double peak_vnni(int64_t iters);         // vpdpbusd zmm: 128 int8 OP each
double peak_amx(int64_t iters);          // tdpbssd 16x16x64: 32768 int8 OP each
}  // namespace triage::bench
