// An owned, 64-byte aligned, zero-initialised byte buffer (packed weights, the arena when the caller
// gives none). Allocation failure is reported, not thrown.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace triage::rt {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // false when the allocation fails (the buffer is then empty).
  bool allocate(size_t bytes) {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    if (bytes == 0) return true;
    const size_t rounded = (bytes + 63) & ~size_t(63);
    if (rounded < bytes) return false;
    data_ = static_cast<unsigned char*>(std::aligned_alloc(64, rounded));
    if (!data_) return false;
    std::memset(data_, 0, rounded);
    size_ = bytes;
    return true;
  }
  unsigned char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace triage::rt
