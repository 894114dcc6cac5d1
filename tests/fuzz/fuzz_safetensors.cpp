// Fuzz target: the safetensors reader (and the f32 decoding of every float tensor it accepts) on
// arbitrary bytes. Built as a libFuzzer target when available and as `replay_fuzz_safetensors`, a
// gtest that feeds every file of corpus/safetensors/ through it under ASan/UBSan.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tools/convert/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace triage::convert;
  StFile f;
  Error err;
  if (!parse_safetensors({data, size}, "fuzz.safetensors", f, err)) return 0;
  // Accepted: every tensor's bytes lie inside the input; decoding touches all of them.
  std::vector<float> v;
  for (const StTensor& t : f.tensors) {
    if (t.data.data() < data || t.data.data() + t.data.size() > data + size) __builtin_trap();
    if (t.data.size() != t.numel * st_dtype_size(t.dtype)) __builtin_trap();
    if (!st_dtype_is_float(t.dtype) || t.numel > (1u << 20)) continue;
    if (st_to_f32(t, v, err) && v.size() != t.numel) __builtin_trap();
  }
  return 0;
}
