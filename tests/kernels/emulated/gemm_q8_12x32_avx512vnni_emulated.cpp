// gemm_q8_12x32_avx512vnni.cpp built again for the emulated kernel tests (TRIAGE_SIMD_EMULATED: SIMDe + the AMX tile model).
#include "kernels/cpu/gemm_q8_12x32_avx512vnni.cpp"
