// An owned array whose allocation can fail without throwing: the library's storage for everything an
// open sizes from a file (the parsed tensor and metadata tables, the model's labels, per-batch result
// rows), so that out of memory is a status code (TRIAGE_E_NOMEM), never an exception or an abort, also
// in the build without exceptions (TRIAGE_NO_EXCEPTIONS). Move-only; elements are value-initialised.
// Its memory comes from the heap, or from a Region: a caller's block carved front to back, so that an
// open given caller memory makes no heap allocation at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace triage {

// The heap's side of every request here: `align`-aligned (a power of two) bytes, at least one; nullptr
// when the heap says no or the rounded size overflows. Freed with std::free.
inline void* heap_alloc(size_t bytes, size_t align) {
  if (bytes == 0) bytes = 1;
  if (align <= alignof(std::max_align_t)) return std::malloc(bytes);
  if (bytes > SIZE_MAX - (align - 1)) return nullptr;
  return std::aligned_alloc(align, (bytes + align - 1) & ~(align - 1));
}

// A block of caller memory handed out front to back (never freed piece by piece), or, built without
// one, a measuring region: each request comes from the heap (the array frees it) and used() says how
// many bytes a block would have needed for the same requests in the same order.
class Region {
 public:
  Region() = default;  // measuring
  Region(void* base, size_t cap) : base_(static_cast<unsigned char*>(base)), cap_(cap) {}

  bool measuring() const { return base_ == nullptr; }
  size_t used() const { return used_; }
  size_t peak() const { return peak_; }  // the most bytes in use at once (rewind gives some back)
  // bytes at `align` (a power of two; the base is at least that aligned). nullptr when the block is
  // full, the heap says no, or the size overflows; *heap tells the caller whether to free it.
  void* take(size_t bytes, size_t align, bool* heap) {
    size_t off = 0;
    if (!reserve(bytes, align, &off)) return nullptr;
    if (measuring()) {
      void* p = heap_alloc(bytes, align);
      if (!p) {
        used_ = off;  // nothing was taken
        return nullptr;
      }
      *heap = true;
      return p;
    }
    *heap = false;
    return base_ + off;
  }
  // Accounts for bytes at `align` without handing memory out (their offset into *off when not null):
  // false when a block would be full or the size overflows.
  bool reserve(size_t bytes, size_t align, size_t* off = nullptr) {
    const size_t at = (used_ + align - 1) & ~(align - 1);
    if (at < used_ || bytes > SIZE_MAX - at) return false;
    if (!measuring() && at + bytes > cap_) return false;
    used_ = at + bytes;
    if (used_ > peak_) peak_ = used_;
    if (off) *off = at;
    return true;
  }
  // Gives back everything taken after `mark` (an earlier used()): what it held must be dead by then.
  void rewind(size_t mark) {
    if (mark < used_) used_ = mark;
  }

 private:
  unsigned char* base_ = nullptr;
  size_t cap_ = 0;
  size_t used_ = 0;
  size_t peak_ = 0;
};

template <class T>
class FallibleArray {
  static_assert(std::is_nothrow_default_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                "elements are built and destroyed without exceptions");

 public:
  FallibleArray() = default;
  ~FallibleArray() { reset(); }
  FallibleArray(const FallibleArray&) = delete;
  FallibleArray& operator=(const FallibleArray&) = delete;
  FallibleArray(FallibleArray&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)), heap_(std::exchange(o.heap_, false)) {}
  FallibleArray& operator=(FallibleArray&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
      heap_ = std::exchange(o.heap_, false);
    }
    return *this;
  }

  // Replaces the contents with n value-initialised elements, from `from` (nullptr: the heap). false
  // (and empty) when the allocation fails or n * sizeof(T) overflows.
  [[nodiscard]] bool resize(size_t n, Region* from = nullptr) { return allocate(n, from, true); }
  // The same without initialising the elements (trivial types that are written before they are read,
  // such as the activation arena: zeroing megabytes at open would only move page faults earlier).
  [[nodiscard]] bool resize_for_overwrite(size_t n, Region* from = nullptr) {
    static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);
    return allocate(n, from, false);
  }
  void reset() {
    for (size_t i = n_; i > 0; --i) p_[i - 1].~T();
    if (heap_) std::free(p_);
    p_ = nullptr;
    n_ = 0;
    heap_ = false;
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
  bool allocate(size_t n, Region* from, bool init) {
    reset();
    if (n == 0) return true;
    if (n > SIZE_MAX / sizeof(T)) return false;
    bool heap = true;
    void* raw = from ? from->take(n * sizeof(T), alignof(T), &heap) : heap_alloc(n * sizeof(T), alignof(T));
    if (!raw) return false;
    heap_ = heap;
    p_ = static_cast<T*>(raw);
    if (init)
      for (size_t i = 0; i < n; ++i) new (p_ + i) T();
    n_ = n;
    return true;
  }

  T* p_ = nullptr;
  size_t n_ = 0;
  bool heap_ = false;  // p_ came from the heap (else from a caller's Region, or nothing)
};

}  // namespace triage
