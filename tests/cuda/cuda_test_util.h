// Helpers of the CUDA tests: device presence (every device test skips with "no CUDA device: ..." where
// there is none), checked CUDA calls, device buffers that are poisoned before each run, seeded data.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "weights_format/trw.h"

namespace triage::cuda::test {

// Whether a usable CUDA device is present; why (when not) names the reason.
inline bool have_device(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (why) *why = std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
    return false;
  }
  if (n == 0) {
    if (why) *why = "cudaGetDeviceCount returned 0";
    return false;
  }
  return true;
}

#define TRIAGE_REQUIRE_CUDA()                                                       \
  do {                                                                              \
    std::string why_;                                                               \
    if (!::triage::cuda::test::have_device(&why_)) GTEST_SKIP() << "no CUDA device: " << why_; \
  } while (0)

#define CUDA_OK(call)                                                                             \
  do {                                                                                            \
    const cudaError_t e_ = (call);                                                                \
    ASSERT_EQ(e_, cudaSuccess) << #call << ": " << cudaGetErrorName(e_) << " " << cudaGetErrorString(e_); \
  } while (0)

// After a launcher: its launch status, the last error, and the kernel's completion.
#define LAUNCH_OK(call)                          \
  do {                                           \
    CUDA_OK(call);                               \
    CUDA_OK(cudaGetLastError());                 \
    CUDA_OK(cudaDeviceSynchronize());            \
  } while (0)

// A device buffer of T (freed on scope exit).
template <typename T>
struct DevBuf {
  T* p = nullptr;
  size_t n = 0;
  explicit DevBuf(size_t count) : n(count) {
    if (cudaMalloc(reinterpret_cast<void**>(&p), std::max<size_t>(count, 1) * sizeof(T)) != cudaSuccess) p = nullptr;
  }
  ~DevBuf() {
    if (p) cudaFree(p);
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  cudaError_t up(const std::vector<T>& v) { return cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice); }
  cudaError_t down(std::vector<T>& v) const {
    v.resize(n);
    return cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
  }
  // Poison: 0xFF bytes (a NaN for f32 and bf16, -1 for int32) or a given byte (0x80 = -128 for int8,
  // a value the quantiser never writes).
  cudaError_t poison(int byte = 0xFF) { return cudaMemset(p, byte, n * sizeof(T)); }
};

inline std::vector<float> rand_f32(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}
inline std::vector<int8_t> rand_i8(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(g));
  return v;
}
inline std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = trw::f32_to_bf16(v[i]);
  return h;
}
inline std::vector<float> from_bf16(const std::vector<uint16_t>& h) {
  std::vector<float> v(h.size());
  for (size_t i = 0; i < h.size(); ++i) v[i] = trw::bf16_to_f32(h[i]);
  return v;
}

// Norm-wise relative error ||a - b|| / ||b||; NaN anywhere in a gives +inf (an unwritten output fails).
inline double rel_err(const float* a, const float* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) && !std::isnan(b[i])) return INFINITY;
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}
inline double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() ? rel_err(a.data(), b.data(), a.size()) : INFINITY;
}

}  // namespace triage::cuda::test
