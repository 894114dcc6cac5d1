#include "tools/klarf/klarf_tokenizer.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <system_error>

namespace triage::klarf {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool Tokenizer::next(Token& t, std::string& err) {
  if (peeked_) {
    peeked_ = false;
    t = peek_;
    err = peek_err_;
    return peek_ok_;
  }
  return scan(t, err);
}

bool Tokenizer::peek(Token& t, std::string& err) {
  if (!peeked_) {
    peek_ok_ = scan(peek_, peek_err_);
    peeked_ = true;
  }
  t = peek_;
  err = peek_err_;
  return peek_ok_;
}

bool Tokenizer::scan(Token& t, std::string& err) {
  while (pos_ < text_.size() && is_blank(text_[pos_])) {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  t.line = line_;
  t.span = {pos_, pos_};
  if (pos_ == text_.size()) {
    t.kind = Tok::end;
    return true;
  }
  const char c = text_[pos_];
  const auto punct = [&](Tok k) {
    t.kind = k;
    t.span.end = ++pos_;
    return true;
  };
  if (c == ';') return punct(Tok::semicolon);
  if (braces_ && c == '{') return punct(Tok::open);
  if (braces_ && c == '}') return punct(Tok::close);
  if (braces_ && c == ',') return punct(Tok::comma);
  if (c == '"') {
    size_t e = pos_ + 1;
    while (e < text_.size() && text_[e] != '"' && text_[e] != '\n') ++e;
    if (e == text_.size() || text_[e] != '"') {
      err = at_line(line_, "unterminated string (a quote without its closing quote on the same line)");
      return false;
    }
    t.kind = Tok::quoted;
    t.span.end = pos_ = e + 1;
    return true;
  }
  size_t e = pos_;
  while (e < text_.size()) {
    const char d = text_[e];
    if (is_blank(d) || d == ';' || d == '"' || (braces_ && (d == '{' || d == '}' || d == ','))) break;
    ++e;
  }
  t.kind = Tok::word;
  t.span.end = pos_ = e;
  return true;
}

std::string at_line(uint32_t line, const std::string& why) { return "line " + std::to_string(line) + ": " + why; }

std::string shown(std::string_view token) {
  std::string s(token.substr(0, 40));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return "'" + s + (token.size() > 40 ? "...'" : "'");
}

std::string_view unquoted(std::string_view token) {
  if (token.size() >= 2 && token.front() == '"' && token.back() == '"') return token.substr(1, token.size() - 2);
  return token;
}

bool same_word(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

bool parse_count(std::string_view s, size_t max, size_t& out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v > max) return false;
  out = static_cast<size_t>(v);
  return true;
}

bool parse_int64(std::string_view s, int64_t& out) {
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (digits.empty()) return false;
  for (char c : digits)
    if (!is_digit(c)) return false;
  // from_chars takes '-' but not '+'.
  const std::string_view body = s[0] == '+' ? s.substr(1) : s;
  int64_t v = 0;
  const auto r = std::from_chars(body.data(), body.data() + body.size(), v);
  if (r.ec != std::errc() || r.ptr != body.data() + body.size()) return false;
  out = v;
  return true;
}

bool parse_int32(std::string_view s, int32_t& out) {
  int64_t v = 0;
  if (!parse_int64(s, v) || v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
    return false;
  out = static_cast<int32_t>(v);
  return true;
}

bool parse_real(std::string_view s, double& out) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const size_t int_begin = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  size_t digits = i - int_begin;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t frac_begin = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    digits += i - frac_begin;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const size_t exp_begin = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == exp_begin) return false;
  }
  if (i != s.size() || s.size() > 64) return false;
  // The syntax is checked above; strtod does the conversion (from_chars for double is not in every
  // standard library this builds with). The token is copied: it is not NUL-terminated.
  char buf[72];
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  char* end = nullptr;
  const double v = std::strtod(buf, &end);
  if (end != buf + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

}  // namespace triage::klarf
