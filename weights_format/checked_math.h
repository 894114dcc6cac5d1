// Overflow-checked unsigned arithmetic for sizes and offsets that come from a file: every helper
// returns false instead of wrapping.
#pragma once

#include <cstdint>

namespace triage::trw {

inline bool add_u64(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }
inline bool mul_u64(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

// Round up to a multiple of a power of two `a`.
inline bool align_up_u64(uint64_t x, uint64_t a, uint64_t& out) {
  if (!add_u64(x, a - 1, out)) return false;
  out &= ~(a - 1);
  return true;
}

}  // namespace triage::trw
