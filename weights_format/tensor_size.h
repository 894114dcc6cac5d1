// Element count and stored byte size of a tensor (SPEC.md section 6), shared by reader and writer.
#pragma once

#include <cstdint>

#include "weights_format/trw.h"

namespace triage::trw {

struct TensorSize {
  uint64_t numel = 0;
  uint64_t nbytes = 0;      // whole stored size (Q8: payload, padding to 4, scales)
  uint64_t scales_off = 0;  // Q8: offset of the scales from the payload start
};

bool is_known_dtype(uint32_t id);

// Returns Errc::Ok, or BadValue (unknown dtype, Q8 of rank 0), LimitExceeded (rank, a dim: its
// index goes to bad_dim, numel), Overflow (dim product). Checks dims in order.
Errc tensor_size(uint32_t dtype, uint32_t rank, const uint64_t* dims, TensorSize& out, uint32_t& bad_dim);

}  // namespace triage::trw
