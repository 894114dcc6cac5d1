// Shared helpers of the runtime tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/triage.h"
#include "tests/runtime/random_model.h"

namespace triage::test {

inline triage_image view(const TestImage& t) {
  triage_image v{};
  v.data = t.storage.data();
  v.pixel = t.pixel;
  v.height = t.height;
  v.width = t.width;
  v.channels = t.channels;
  v.row_stride = t.row_stride;
  return v;
}

// Test models (random_model) and f32 conversions are uncalibrated: by default the tests open them with
// their file's thresholds (TRIAGE_OPEN_ALLOW_UNCALIBRATED), as OracleRunner decides; the fail-safe has
// its own tests (test_router_policy.cpp).
inline triage_options options(uint32_t threads = 1, uint32_t max_batch = 1, uint32_t force = TRIAGE_FORCE_NONE,
                              uint32_t flags = TRIAGE_OPEN_ALLOW_UNCALIBRATED) {
  triage_options o;
  triage_options_init(&o);
  o.threads = threads;
  o.max_batch = max_batch;
  o.force = force;
  o.flags = flags;
  return o;
}

// Norm-wise relative error ||a - b|| / max(||b||, tiny).
inline double rel_error(const float* a, const float* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() ? rel_error(a.data(), b.data(), a.size()) : INFINITY;
}

inline std::string source_dir() { return TRIAGE_SOURCE_DIR; }
inline std::string binary_dir() { return TRIAGE_BINARY_DIR; }

// The real shipped models (docs/model-family.md).
inline const std::vector<std::string>& shipped_models() {
  static const std::vector<std::string> m = {"awc-wm811k", "adc-pcb", "adc-optical"};
  return m;
}

}  // namespace triage::test
