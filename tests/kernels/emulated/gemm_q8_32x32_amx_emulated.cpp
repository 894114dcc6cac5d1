// gemm_q8_32x32_amx.cpp built again for the emulated kernel tests (TRIAGE_SIMD_EMULATED: SIMDe + the AMX tile model).
#include "kernels/cpu/gemm_q8_32x32_amx.cpp"
