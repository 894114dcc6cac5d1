// A small, strict, bounded pull reader for the XML the wafer map reader needs (SEMI E142 files), not a
// general XML parser. It reads: an optional UTF-8 BOM and <?xml ...?> declaration, processing
// instructions and comments (skipped), elements with attributes in single or double quotes, text and
// CDATA sections, the five predefined entities and numeric character references. It refuses DOCTYPE
// (no DTD, so no entity expansion), mismatched or unclosed tags, duplicate attributes, text outside the
// root element, a second root, and anything over its caps (depth, name length, attributes per element).
// Names are returned without their namespace prefix. Every error says the line ("line 12: ...").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace triage::cli::xml {

inline constexpr size_t kMaxDepth = 64;
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxAttributes = 64;

struct Attribute {
  std::string name;   // local name
  std::string value;  // entities decoded
};

struct Event {
  enum Kind { Open, Close, Text, End } kind = End;
  std::string name;                   // Open / Close: local name
  std::vector<Attribute> attributes;  // Open
  std::string text;                   // Text: decoded (whitespace kept)
  size_t line = 0;                    // where the event starts (1-based)
  // An empty element <a/> gives Open then Close.
  const std::string* attribute(std::string_view name) const;
};

class Reader {
 public:
  explicit Reader(std::string_view doc);
  // The next event; End once after the root element closed (and only whitespace, comments or PIs
  // follow). false + err on malformed input; the reader must not be used after an error.
  bool next(Event& ev, std::string& err);
  size_t depth() const { return stack_.size(); }

 private:
  bool fail(std::string& err, const std::string& msg) const;
  bool skip_misc(std::string& err, bool& at_markup);
  bool read_name(std::string& qname, std::string& err);
  bool decode(std::string_view raw, std::string& out, std::string& err) const;
  void advance(size_t n);

  std::string_view doc_;
  size_t pos_ = 0, line_ = 1;
  std::vector<std::string> stack_;  // qualified names of the open elements
  bool root_seen_ = false, pending_close_ = false;
  std::string pending_name_;
};

}  // namespace triage::cli::xml
