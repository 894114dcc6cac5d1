// Allocation hooks: malloc/calloc/realloc/aligned_alloc/posix_memalign/memalign and operator new
// forward to glibc's __libc_* functions and count while counting is on; alloc_fail_at(k) makes the k-th
// counted request fail (NULL, ENOMEM or std::bad_alloc, as that function reports failure). Under AddressSanitizer
// (TRIAGE_SANITIZE builds), which owns malloc, the sanitizer's allocation hook counts instead.
#include "tests/runtime/alloc_counter.h"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_on{false};
std::atomic<bool> g_this_thread{false};  // count only the thread that turned counting on
thread_local bool t_counted = false;
std::atomic<uint64_t> g_count{0}, g_bytes{0}, g_largest{0}, g_fail_at{0};
std::atomic<bool> g_failed{false};
// Counts a request; false when it is the one to fail (alloc_fail_at).
inline bool note(size_t n) {
  if (!g_on.load(std::memory_order_relaxed)) return true;
  if (g_this_thread.load(std::memory_order_relaxed) && !t_counted) return true;
  const uint64_t k = g_count.fetch_add(1, std::memory_order_relaxed) + 1;
  g_bytes.fetch_add(n, std::memory_order_relaxed);
  uint64_t cur = g_largest.load(std::memory_order_relaxed);
  while (n > cur && !g_largest.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
  }
  if (k != g_fail_at.load(std::memory_order_relaxed)) return true;
  g_failed.store(true, std::memory_order_relaxed);
  return false;
}
}  // namespace

namespace triage::test {
void alloc_counting(bool on, bool this_thread_only) {
  g_on.store(false);
  t_counted = on;
  g_this_thread.store(on && this_thread_only);
  if (on) {
    g_count.store(0);
    g_bytes.store(0);
    g_largest.store(0);
  }
  g_on.store(on);
}
uint64_t alloc_count() { return g_count.load(); }
uint64_t alloc_bytes() { return g_bytes.load(); }
uint64_t alloc_largest() { return g_largest.load(); }
void alloc_fail_at(uint64_t k) {
  g_fail_at.store(k);
  g_failed.store(false);
}
bool alloc_failed() { return g_failed.load(); }
#if defined(__SANITIZE_ADDRESS__)
bool alloc_failure_injection() { return false; }
#else
bool alloc_failure_injection() { return true; }
#endif
}  // namespace triage::test

#if defined(__SANITIZE_ADDRESS__)
// From <sanitizer/allocator_interface.h> (not shipped with every compiler's packages).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*));

namespace {
void on_malloc(const volatile void*, size_t n) { (void)note(n); }
void on_free(const volatile void*) {}
const int g_hooks = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace

#else

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

extern "C" {
void* malloc(size_t n) {
  if (!note(n)) return nullptr;
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
  if (!note(a * b)) return nullptr;
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  if (!note(n)) return nullptr;
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* aligned_alloc(size_t al, size_t n) {
  if (!note(n)) return nullptr;
  return __libc_memalign(al, n);
}
void* memalign(size_t al, size_t n) {
  if (!note(n)) return nullptr;
  return __libc_memalign(al, n);
}
int posix_memalign(void** out, size_t al, size_t n) {
  if (!note(n)) return ENOMEM;
  void* p = __libc_memalign(al, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}

void* operator new(size_t n) {
  void* p = note(n) ? __libc_malloc(n ? n : 1) : nullptr;
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return note(n) ? __libc_malloc(n ? n : 1) : nullptr;
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return operator new(n, std::nothrow); }
void* operator new(size_t n, std::align_val_t al) {
  void* p = note(n) ? __libc_memalign(static_cast<size_t>(al), n ? n : 1) : nullptr;
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n, std::align_val_t al) { return operator new(n, al); }
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, size_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { __libc_free(p); }

#endif  // __SANITIZE_ADDRESS__
