#include "weights_format/cursor.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "weights_format/error.h"
#include "weights_format/le_bytes.h"

namespace triage::trw {

void Cursor::set_context(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(ctx_, sizeof ctx_, fmt, ap);
  va_end(ap);
}

const char* Cursor::field_name(const char* field, int64_t index) const {
  const char* ctx = ctx_[0] ? ctx_ : section_;
  if (index >= 0)
    std::snprintf(field_, sizeof field_, "%s.%s[%lld]", ctx, field, static_cast<long long>(index));
  else
    std::snprintf(field_, sizeof field_, "%s.%s", ctx, field);
  return field_;
}

bool Cursor::need(uint64_t n, const char* field, Error& err, int64_t index) const {
  if (end_ - pos_ >= n) return true;
  return fail(err, Errc::Truncated, pos_, "%s: %llu bytes run past the end of the %s (%llu left)",
              field_name(field, index), static_cast<unsigned long long>(n), section_,
              static_cast<unsigned long long>(end_ - pos_));
}

bool Cursor::u32(uint32_t& v, const char* field, Error& err, int64_t index) {
  if (!need(4, field, err, index)) return false;
  v = load_u32(base_ + pos_);
  pos_ += 4;
  return true;
}

bool Cursor::u64(uint64_t& v, const char* field, Error& err, int64_t index) {
  if (!need(8, field, err, index)) return false;
  v = load_u64(base_ + pos_);
  pos_ += 8;
  return true;
}

bool Cursor::str(uint64_t len, std::string_view& out, const char* field, Error& err, int64_t index) {
  if (!need(len, field, err, index)) return false;
  const uint8_t* p = base_ + pos_;
  if (const void* nul = std::memchr(p, 0, size_t(len)); nul != nullptr) {
    const uint64_t at = pos_ + uint64_t(static_cast<const uint8_t*>(nul) - p);
    return fail(err, Errc::BadValue, at, "%s: contains a NUL byte", field_name(field, index));
  }
  out = std::string_view(reinterpret_cast<const char*>(p), size_t(len));
  pos_ += len;
  return true;
}

bool Cursor::lstr(uint32_t min_len, uint32_t max_len, std::string_view& out, const char* field, Error& err,
                  int64_t index) {
  const uint64_t len_at = pos_;
  uint32_t len = 0;
  if (!u32(len, field, err, index)) return false;
  if (len > max_len)
    return fail(err, Errc::LimitExceeded, len_at, "%s: length %u exceeds the cap of %u", field_name(field, index), len,
                max_len);
  if (len < min_len)
    return fail(err, Errc::BadValue, len_at, "%s: length %u is below %u", field_name(field, index), len, min_len);
  return str(len, out, field, err, index);
}

}  // namespace triage::trw
