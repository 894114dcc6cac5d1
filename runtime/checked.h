// Overflow-checked size arithmetic: every size derived from a file or an API argument goes through these.
#pragma once

#include <cstddef>
#include <cstdint>

namespace triage::rt {

// out = a * b; false on overflow.
template <typename T>
inline bool mul_ok(T a, T b, T& out) {
  return !__builtin_mul_overflow(a, b, &out);
}

// out = a + b; false on overflow.
template <typename T>
inline bool add_ok(T a, T b, T& out) {
  return !__builtin_add_overflow(a, b, &out);
}

// out = a * b * c; false on overflow.
inline bool mul3_ok(size_t a, size_t b, size_t c, size_t& out) {
  size_t t;
  return mul_ok(a, b, t) && mul_ok(t, c, out);
}

// Rounds up to a multiple of align (a power of two); false on overflow.
inline bool align_up_ok(size_t v, size_t align, size_t& out) {
  size_t t;
  if (!add_ok(v, align - 1, t)) return false;
  out = t & ~(align - 1);
  return true;
}

}  // namespace triage::rt
