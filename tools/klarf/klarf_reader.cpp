#include "tools/klarf/klarf_reader.h"

#include <cstdio>
#include <utility>

#include "tools/klarf/klarf_tokenizer.h"
#include "tools/klarf/klarf_versions.h"

namespace triage::klarf {
namespace {

// Size, line length and NUL bytes, before any parsing.
bool check_text(const std::string& text, std::string& err) {
  if (text.size() > kMaxFileBytes) {
    err = "line 1: file larger than " + std::to_string(kMaxFileBytes) + " bytes";
    return false;
  }
  uint32_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\n') {
      if (i - line_start > kMaxLineBytes) {
        err = at_line(line, "line longer than " + std::to_string(kMaxLineBytes) + " bytes");
        return false;
      }
      ++line;
      line_start = i + 1;
    } else if (text[i] == '\0') {
      err = at_line(line, "NUL byte (not a text file)");
      return false;
    }
  }
  return true;
}

std::string line_ending(const std::string& text) {
  const size_t nl = text.find('\n');
  if (nl != std::string::npos) return nl > 0 && text[nl - 1] == '\r' ? "\r\n" : "\n";
  return text.find('\r') != std::string::npos ? "\r" : "\n";
}

}  // namespace

std::string indent_of(const std::string& text, size_t at, const std::string& fallback) {
  size_t start = at;
  while (start > 0 && text[start - 1] != '\n') --start;
  for (size_t i = start; i < at; ++i)
    if (text[i] != ' ' && text[i] != '\t') return fallback;
  return text.substr(start, at - start);
}

bool read_klarf(std::string text, const ReadOptions& opt, Document& doc, std::string& err) {
  doc = Document{};
  if (!check_text(text, err)) return false;
  doc.text = std::move(text);
  doc.eol = line_ending(doc.text);
  Tokenizer tk(doc.text, false);
  Token first;
  if (!tk.next(first, err)) return false;
  const std::string_view word = doc.bytes(first.span);
  if (first.kind == Tok::word && same_word(word, "FileVersion")) {
    doc.version = Version::v12;
    return read_v12(doc, opt, err);
  }
  if (first.kind == Tok::word && same_word(word, "Record")) {
    doc.version = Version::v18;
    return read_v18(doc, opt, err);
  }
  err = at_line(first.line, "not a KLARF file: it starts with " + (first.kind == Tok::end ? std::string("nothing") : shown(word)) +
                                ", not FileVersion (1.2) or Record FileRecord (1.8)");
  return false;
}

bool read_klarf_file(const std::string& path, const ReadOptions& opt, Document& doc, std::string& err) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    err = "cannot open for reading";
    return false;
  }
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (text.size() + n > kMaxFileBytes) {
      std::fclose(f);
      err = "file larger than " + std::to_string(kMaxFileBytes) + " bytes";
      return false;
    }
    text.append(buf, n);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    err = "read error";
    return false;
  }
  return read_klarf(std::move(text), opt, doc, err);
}

}  // namespace triage::klarf
