// An owned array whose allocation can fail without throwing: the library's storage for everything an
// open sizes from a file (the parsed tensor and metadata tables, the model's labels, per-batch result
// rows), so that out of memory is a status code (TRIAGE_E_NOMEM), never an exception or an abort, also
// in the build without exceptions (TRIAGE_NO_EXCEPTIONS). Move-only; elements are value-initialised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace triage {

template <class T>
class FallibleArray {
  static_assert(std::is_nothrow_default_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                "elements are built and destroyed without exceptions");

 public:
  FallibleArray() = default;
  ~FallibleArray() { reset(); }
  FallibleArray(const FallibleArray&) = delete;
  FallibleArray& operator=(const FallibleArray&) = delete;
  FallibleArray(FallibleArray&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  FallibleArray& operator=(FallibleArray&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }

  // Replaces the contents with n value-initialised elements. false (and empty) when the allocation
  // fails or n * sizeof(T) overflows.
  [[nodiscard]] bool resize(size_t n) {
    reset();
    if (n == 0) return true;
    if (n > SIZE_MAX / sizeof(T)) return false;
    void* raw = nullptr;
    if constexpr (alignof(T) <= alignof(std::max_align_t)) {
      raw = std::malloc(n * sizeof(T));
    } else {
      size_t bytes = n * sizeof(T);
      bytes = (bytes + alignof(T) - 1) / alignof(T) * alignof(T);
      raw = std::aligned_alloc(alignof(T), bytes);
    }
    if (!raw) return false;
    p_ = static_cast<T*>(raw);
    for (size_t i = 0; i < n; ++i) new (p_ + i) T();
    n_ = n;
    return true;
  }
  // resize(n) with every element set to v.
  [[nodiscard]] bool assign(size_t n, const T& v) {
    if (!resize(n)) return false;
    for (size_t i = 0; i < n; ++i) p_[i] = v;
    return true;
  }
  void reset() {
    for (size_t i = n_; i > 0; --i) p_[i - 1].~T();
    std::free(p_);
    p_ = nullptr;
    n_ = 0;
  }

  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  T* begin() { return p_; }
  T* end() { return p_ + n_; }
  const T* begin() const { return p_; }
  const T* end() const { return p_ + n_; }
  std::span<T> span() { return {p_, n_}; }
  std::span<const T> span() const { return {p_, n_}; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace triage
