// A byte vector whose data is 64-byte aligned, so tests can parse (and flip bytes of) a file in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace triage::trw::test {

template <class T>
struct Align64Allocator {
  using value_type = T;
  Align64Allocator() = default;
  template <class U>
  Align64Allocator(const Align64Allocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const Align64Allocator<U>&) const { return true; }
};

using AlignedBytes = std::vector<uint8_t, Align64Allocator<uint8_t>>;

inline AlignedBytes aligned_copy(const std::vector<uint8_t>& v) { return AlignedBytes(v.begin(), v.end()); }

}  // namespace triage::trw::test
