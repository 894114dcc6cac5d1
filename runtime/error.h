// The runtime's error record: a C API status code plus a message in a fixed buffer, so that reporting
// an error while classifying never allocates.
#pragma once

#include <cstdarg>
#include <cstdio>

#include "runtime/triage.h"

namespace triage::rt {

struct Error {
  triage_status code = TRIAGE_OK;
  char message[512] = {};

  explicit operator bool() const { return code != TRIAGE_OK; }

  void clear() {
    code = TRIAGE_OK;
    message[0] = '\0';
  }

  // Records the error and returns false, so callers can write `return err.set(...)`.
  __attribute__((format(printf, 3, 4))) bool set(triage_status c, const char* fmt, ...) {
    code = c;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return false;
  }
};

}  // namespace triage::rt
