#include "weights_format/tensor_size.h"

#include "weights_format/checked_math.h"

namespace triage::trw {

bool is_known_dtype(uint32_t id) { return id >= uint32_t(DType::F32) && id <= uint32_t(DType::Q8); }

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::Q8: return "q8";
  }
  return "unknown";
}

uint32_t dtype_elem_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::Q8: return 1;
  }
  return 0;
}

Errc tensor_size(uint32_t dtype, uint32_t rank, const uint64_t* dims, TensorSize& out, uint32_t& bad_dim) {
  bad_dim = 0;
  if (!is_known_dtype(dtype)) return Errc::BadValue;
  if (rank > kMaxRank) return Errc::LimitExceeded;
  const DType dt = DType(dtype);
  if (dt == DType::Q8 && rank == 0) return Errc::BadValue;  // no output channel to scale
  for (uint32_t i = 0; i < rank; ++i) {
    if (dims[i] > kMaxDim) {
      bad_dim = i;
      return Errc::LimitExceeded;
    }
  }
  uint64_t numel = 1;
  for (uint32_t i = 0; i < rank; ++i)
    if (!mul_u64(numel, dims[i], numel)) return Errc::Overflow;
  if (numel > kMaxNumel) return Errc::LimitExceeded;
  // With numel <= 2^34 and dims[0] <= 2^32 none of the products below can overflow; checked anyway.
  uint64_t nbytes = 0;
  uint64_t scales_off = 0;
  if (dt == DType::Q8) {
    uint64_t scale_bytes = 0;
    if (!align_up_u64(numel, 4, scales_off) || !mul_u64(dims[0], 4, scale_bytes) ||
        !add_u64(scales_off, scale_bytes, nbytes))
      return Errc::Overflow;
  } else if (!mul_u64(numel, dtype_elem_size(dt), nbytes)) {
    return Errc::Overflow;
  }
  out.numel = numel;
  out.nbytes = nbytes;
  out.scales_off = scales_off;
  return Errc::Ok;
}

}  // namespace triage::trw
