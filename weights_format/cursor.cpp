#include "weights_format/cursor.h"

#include <cstring>

#include "weights_format/error.h"
#include "weights_format/le_bytes.h"

namespace triage::trw {

std::string Cursor::field_name(const char* field, int64_t index) const {
  std::string s = ctx_.empty() ? std::string(section_) : ctx_;
  s += '.';
  s += field;
  if (index >= 0) {
    s += '[';
    s += std::to_string(index);
    s += ']';
  }
  return s;
}

bool Cursor::need(uint64_t n, const char* field, Error& err, int64_t index) const {
  if (end_ - pos_ >= n) return true;
  return fail(err, Errc::Truncated, pos_,
              field_name(field, index) + ": " + std::to_string(n) + " bytes run past the end of the " +
                  section_ + " (" + std::to_string(end_ - pos_) + " left)");
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

bool Cursor::str(uint64_t len, std::string& out, const char* field, Error& err, int64_t index) {
  if (!need(len, field, err, index)) return false;
  const uint8_t* p = base_ + pos_;
  if (const void* nul = std::memchr(p, 0, size_t(len)); nul != nullptr) {
    const uint64_t at = pos_ + uint64_t(static_cast<const uint8_t*>(nul) - p);
    return fail(err, Errc::BadValue, at, field_name(field, index) + ": contains a NUL byte");
  }
  out.assign(reinterpret_cast<const char*>(p), size_t(len));
  pos_ += len;
  return true;
}

bool Cursor::lstr(uint32_t min_len, uint32_t max_len, std::string& out, const char* field, Error& err,
                  int64_t index) {
  const uint64_t len_at = pos_;
  uint32_t len = 0;
  if (!u32(len, field, err, index)) return false;
  if (len > max_len)
    return fail(err, Errc::LimitExceeded, len_at,
                field_name(field, index) + ": length " + std::to_string(len) + " exceeds the cap of " +
                    std::to_string(max_len));
  if (len < min_len)
    return fail(err, Errc::BadValue, len_at,
                field_name(field, index) + ": length " + std::to_string(len) + " is below " +
                    std::to_string(min_len));
  return str(len, out, field, err, index);
}

}  // namespace triage::trw
