// The KLARF tokenizer: words, quoted strings and punctuation, each with its byte span and line, over
// the raw text (never copied). 1.2 files have only `;` as punctuation; 1.8 files also `{`, `}` and `,`.
// A quoted string runs to the next `"` on the same line (no escapes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/klarf/klarf_document.h"

namespace triage::klarf {

enum class Tok : uint8_t { word, quoted, open, close, comma, semicolon, end };

struct Token {
  Tok kind = Tok::end;
  Span span;
  uint32_t line = 1;
};

class Tokenizer {
 public:
  // braces: `{`, `}` and `,` are punctuation (1.8); otherwise they are part of words (1.2).
  // A UTF-8 byte order mark at the start is skipped.
  Tokenizer(std::string_view text, bool braces) : text_(text), braces_(braces) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  // The next token (Tok::end at the end of the text). false + err ("line N: why") on an unterminated
  // string.
  bool next(Token& t, std::string& err);
  // The token next() would return, without consuming it.
  bool peek(Token& t, std::string& err);
  uint32_t line() const { return line_; }  // line of the read position

 private:
  bool scan(Token& t, std::string& err);
  std::string_view text_;
  bool braces_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  bool peeked_ = false;
  Token peek_;
  std::string peek_err_;
  bool peek_ok_ = true;
};

// "line N: why".
std::string at_line(uint32_t line, const std::string& why);
// A token as shown in a message: at most 40 bytes, control bytes as '?', in single quotes.
std::string shown(std::string_view token);
// A quoted token without its quotes; other tokens unchanged.
std::string_view unquoted(std::string_view token);
// Case-insensitive ASCII comparison.
bool same_word(std::string_view a, std::string_view b);

// Strict numbers: the whole token, decimal, no blanks, in range.
// A count: digits only, <= max.
bool parse_count(std::string_view s, size_t max, size_t& out);
// An integer: optional sign, then digits.
bool parse_int32(std::string_view s, int32_t& out);
bool parse_int64(std::string_view s, int64_t& out);
// A finite real number: [sign] digits [. digits] [e|E [sign] digits] (or .digits); no inf, nan, hex.
bool parse_real(std::string_view s, double& out);

}  // namespace triage::klarf
