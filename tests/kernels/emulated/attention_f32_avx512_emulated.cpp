// attention_f32_avx512.cpp built again for the emulated kernel tests (TRIAGE_SIMD_EMULATED: SIMDe + the AMX tile model).
#include "kernels/cpu/attention_f32_avx512.cpp"
