#include "weights_format/error.h"

#include <cstdarg>
#include <cstdio>

namespace triage::trw {

const char* errc_name(Errc c) {
  switch (c) {
    case Errc::Ok: return "Ok";
    case Errc::Io: return "Io";
    case Errc::Truncated: return "Truncated";
    case Errc::BadMagic: return "BadMagic";
    case Errc::BadVersion: return "BadVersion";
    case Errc::BadEndian: return "BadEndian";
    case Errc::UnknownRequiredFeature: return "UnknownRequiredFeature";
    case Errc::LimitExceeded: return "LimitExceeded";
    case Errc::Overflow: return "Overflow";
    case Errc::BadValue: return "BadValue";
    case Errc::Overlap: return "Overlap";
    case Errc::Checksum: return "Checksum";
    case Errc::Duplicate: return "Duplicate";
    case Errc::NotFound: return "NotFound";
    case Errc::TypeMismatch: return "TypeMismatch";
    case Errc::NoMemory: return "NoMemory";
  }
  return "Unknown";
}

void ErrorText::format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int k = std::vsnprintf(s_, kCapacity, fmt, ap);
  va_end(ap);
  n_ = k < 0 ? 0 : static_cast<size_t>(k) < kCapacity ? static_cast<size_t>(k) : kCapacity - 1;
  s_[n_] = '\0';
}

bool fail(Error& err, Errc code, uint64_t offset, const char* fmt, ...) {
  err.code = code;
  err.offset = offset;
  char what[ErrorText::kCapacity];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  err.message.format("%s at offset %llu", what, static_cast<unsigned long long>(offset));
  return false;
}

bool no_memory(Error& err, const char* what) {
  err.code = Errc::NoMemory;
  err.offset = 0;
  err.message.format("out of memory for the %s", what);
  return false;
}

bool fail_text(Error& err, Errc code, uint64_t offset, std::string_view what) {
  const size_t n = what.size() < ErrorText::kCapacity ? what.size() : ErrorText::kCapacity;
  return fail(err, code, offset, "%.*s", static_cast<int>(n), what.data());
}

}  // namespace triage::trw
