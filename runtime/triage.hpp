// A thin C++ wrapper over the C API (runtime/triage.h): RAII ownership of a model handle. No
// exceptions: every call returns the C status, messages come from error().
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/triage.h"

namespace triage {

class Model {
 public:
  Model() = default;
  ~Model() { triage_close(m_); }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  Model(Model&& o) noexcept : m_(o.m_) { o.m_ = nullptr; }
  Model& operator=(Model&& o) noexcept {
    if (this != &o) {
      triage_close(m_);
      m_ = o.m_;
      o.m_ = nullptr;
    }
    return *this;
  }

  static triage_options default_options() {
    triage_options o;
    triage_options_init(&o);
    return o;
  }

  triage_status open(const void* data, size_t size, const triage_options& o = default_options()) {
    triage_close(m_);
    m_ = nullptr;
    return triage_open_memory(data, size, &o, &m_);
  }
  triage_status open_file(const char* path, const triage_options& o = default_options()) {
    triage_close(m_);
    m_ = nullptr;
    return triage_open_file(path, &o, &m_);
  }
  triage_status classify(const triage_image& image, triage_result& out) { return triage_classify(m_, &image, &out); }
  triage_status classify(const triage_image* images, size_t n, triage_result* out) {
    return triage_classify_batch(m_, images, n, out);
  }
  triage_status info(triage_model_info& out) const {
    out.struct_size = sizeof(out);
    return triage_get_info(m_, &out);
  }
  // The last error of this model, or of the failed open() on this thread when no model is open.
  const char* error() const { return m_ ? triage_last_error(m_) : triage_open_error(); }
  bool is_open() const { return m_ != nullptr; }
  triage_model* handle() const { return m_; }

 private:
  triage_model* m_ = nullptr;
};

}  // namespace triage
