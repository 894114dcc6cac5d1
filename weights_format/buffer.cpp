// trw::Buffer: an owned, 64-byte aligned byte buffer, so the tensor views a File hands out from it
// are aligned for SIMD loads. read_file refuses anything but a regular file within kMaxFileSize.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "weights_format/error.h"
#include "weights_format/trw.h"

namespace triage::trw {
namespace {

uint8_t* alloc_aligned(size_t n) { return static_cast<uint8_t*>(heap_alloc(n, kAlign)); }

}  // namespace

Buffer::~Buffer() { release(); }

void Buffer::release() {
  if (heap_) std::free(data_);
  data_ = nullptr;
  size_ = 0;
  heap_ = true;
}

Buffer::Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_), heap_(o.heap_) {
  o.data_ = nullptr;
  o.size_ = 0;
  o.heap_ = true;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    size_ = o.size_;
    heap_ = o.heap_;
    o.data_ = nullptr;
    o.size_ = 0;
    o.heap_ = true;
  }
  return *this;
}

bool Buffer::assign(std::span<const uint8_t> bytes, Error& err, Region* from) {
  if (bytes.size() > kMaxFileSize)
    return fail(err, Errc::LimitExceeded, 0, "buffer of %zu bytes exceeds kMaxFileSize", bytes.size());
  bool heap = true;
  uint8_t* p = from ? static_cast<uint8_t*>(from->take(bytes.size(), kAlign, &heap)) : alloc_aligned(bytes.size());
  if (p == nullptr) return fail(err, Errc::NoMemory, 0, "cannot allocate %zu bytes", bytes.size());
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  release();
  data_ = p;
  size_ = bytes.size();
  heap_ = heap;
  return true;
}

bool Buffer::read_file(const char* path, Error& err) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, Errc::Io, 0, "cannot open '%s': %s", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(err, Errc::Io, 0, "cannot stat '%s': %s", path, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(err, Errc::Io, 0, "'%s' is not a regular file", path);
  }
  const uint64_t size = uint64_t(st.st_size);
  if (size > kMaxFileSize) {
    ::close(fd);
    return fail(err, Errc::LimitExceeded, 0, "'%s' has %llu bytes, more than kMaxFileSize", path,
                static_cast<unsigned long long>(size));
  }
  uint8_t* p = alloc_aligned(size_t(size));
  if (p == nullptr) {
    ::close(fd);
    return fail(err, Errc::NoMemory, 0, "cannot allocate %llu bytes for '%s'", static_cast<unsigned long long>(size), path);
  }
  uint64_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, p + got, size_t(size - got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const char* why = n < 0 ? std::strerror(errno) : "file shrank while reading";
      std::free(p);
      ::close(fd);
      return fail(err, Errc::Io, got, "cannot read '%s': %s", path, why);
    }
    got += uint64_t(n);
  }
  ::close(fd);
  release();
  data_ = p;
  size_ = size_t(size);
  return true;
}

}  // namespace triage::trw
