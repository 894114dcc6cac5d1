// A vector of at most N elements stored in place: a value type that never allocates, for what an open
// reads from a file and keeps by value (the per-class review thresholds of RouterThresholds, which the
// tools copy and edit as well).
#pragma once

#include <cstddef>
#include <initializer_list>

namespace triage::rt {

template <class T, size_t N>
class FixedVector {
 public:
  static constexpr size_t kCapacity = N;
  // Replaces the contents with [first, last); false (and empty) when more than N.
  template <class It>
  bool assign(It first, It last) {
    n_ = 0;
    for (It it = first; it != last; ++it) {
      if (n_ == N) {
        n_ = 0;
        return false;
      }
      v_[n_++] = *it;
    }
    return true;
  }
  // For literals in tests and tools; more than N leaves it empty.
  FixedVector& operator=(std::initializer_list<T> l) {
    assign(l.begin(), l.end());
    return *this;
  }
  void clear() { n_ = 0; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  T* data() { return v_; }
  const T* data() const { return v_; }
  T& operator[](size_t i) { return v_[i]; }
  const T& operator[](size_t i) const { return v_[i]; }
  T* begin() { return v_; }
  T* end() { return v_ + n_; }
  const T* begin() const { return v_; }
  const T* end() const { return v_ + n_; }

 private:
  T v_[N] = {};
  size_t n_ = 0;
};

}  // namespace triage::rt
