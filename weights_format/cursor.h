// Bounds-checked sequential reads inside one section of a file being parsed. Every read checks that
// it stays before the section end (with overflow-free arithmetic: end - pos, never pos + n), and a
// failing read names the field, the entry it belongs to and the byte offset. Never allocates.
#pragma once

#include <cstdint>
#include <string_view>

#include "weights_format/trw.h"

namespace triage::trw {

class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t pos, uint64_t end, const char* section)
      : base_(base), pos_(pos), end_(end), section_(section) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return end_ - pos_; }
  // Names the entry being read, e.g. "tensor[3] 'head.weight'", for error messages (printf-style).
  __attribute__((format(printf, 2, 3))) void set_context(const char* fmt, ...);
  // "<context>.<field>" (and "[index]" when index >= 0): the field name used in messages. Valid until
  // the next call.
  const char* field_name(const char* field, int64_t index = -1) const;

  // Fails with Truncated when n bytes from pos() run past the section end.
  bool need(uint64_t n, const char* field, Error& err, int64_t index = -1) const;
  bool u32(uint32_t& v, const char* field, Error& err, int64_t index = -1);
  bool u64(uint64_t& v, const char* field, Error& err, int64_t index = -1);
  // len bytes as a view into the buffer; BadValue when one of them is 0x00 (names, keys and strings
  // carry no NUL).
  bool str(uint64_t len, std::string_view& out, const char* field, Error& err, int64_t index = -1);
  // A u32 length (LimitExceeded above max, BadValue below min) followed by that many bytes.
  bool lstr(uint32_t min_len, uint32_t max_len, std::string_view& out, const char* field, Error& err,
            int64_t index = -1);

 private:
  const uint8_t* base_;
  uint64_t pos_;
  uint64_t end_;
  const char* section_;
  char ctx_[kMaxNameLen + 64] = {};  // an entry index and a name of at most kMaxNameLen bytes
  mutable char field_[sizeof(ctx_) + 64] = {};
};

}  // namespace triage::trw
