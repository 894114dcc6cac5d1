// The bounded XML subset reader (see xml_subset.h).
#include "tools/cli/xml_subset.h"

#include <algorithm>

namespace triage::cli::xml {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }

std::string local(const std::string& qname) {
  const size_t colon = qname.rfind(':');
  return colon == std::string::npos ? qname : qname.substr(colon + 1);
}

void put_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

const std::string* Event::attribute(std::string_view n) const {
  for (const Attribute& a : attributes)
    if (a.name == n) return &a.value;
  return nullptr;
}

Reader::Reader(std::string_view doc) : doc_(doc) {
  if (doc_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

bool Reader::fail(std::string& err, const std::string& msg) const {
  err = "line " + std::to_string(line_) + ": ";
  for (char c : msg) err += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;  // quoted bytes: one line
  return false;
}

void Reader::advance(size_t n) {
  n = std::min(n, doc_.size() - pos_);
  line_ += static_cast<size_t>(std::count(doc_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                          doc_.begin() + static_cast<std::ptrdiff_t>(pos_ + n), '\n'));
  pos_ += n;
}

bool Reader::read_name(std::string& qname, std::string& err) {
  if (pos_ >= doc_.size() || !name_start(doc_[pos_])) return fail(err, "expected a name");
  size_t e = pos_;
  while (e < doc_.size() && name_char(doc_[e])) {
    if (e - pos_ >= kMaxNameBytes) return fail(err, "name longer than " + std::to_string(kMaxNameBytes) + " bytes");
    ++e;
  }
  qname.assign(doc_.substr(pos_, e - pos_));
  if (qname.back() == ':') return fail(err, "name '" + qname + "' ends in ':'");
  advance(e - pos_);
  return true;
}

bool Reader::decode(std::string_view raw, std::string& out, std::string& err) const {
  out.clear();
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') return fail(err, "control byte " + std::to_string(u) + " in text");
    if (c != '&') {
      out += c;
      continue;
    }
    const size_t semi = raw.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return fail(err, "'&' without an entity or character reference");
    const std::string_view ref = raw.substr(i + 1, semi - i - 1);
    if (ref == "lt") out += '<';
    else if (ref == "gt") out += '>';
    else if (ref == "amp") out += '&';
    else if (ref == "quot") out += '"';
    else if (ref == "apos") out += '\'';
    else if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty() || digits.size() > 8) return fail(err, "malformed character reference");
      uint32_t cp = 0;
      for (char d : digits) {
        int v = d >= '0' && d <= '9' ? d - '0' : -1;
        if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
        if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
        if (v < 0) return fail(err, "malformed character reference");
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);  // <= 8 hex digits: fits in 32 bits
      }
      if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp < 0x20 && cp != 9 && cp != 10 && cp != 13))
        return fail(err, "character reference to an invalid code point");
      put_utf8(cp, out);
    } else {
      return fail(err, "unknown entity '&" + std::string(ref) + ";' (DTD entities are not read)");
    }
    i = semi;
  }
  return true;
}

// Skips whitespace, comments and processing instructions outside the root element. at_markup: a '<'
// that starts an element (or something refused) is next; false at the end of the document.
bool Reader::skip_misc(std::string& err, bool& at_markup) {
  for (;;) {
    while (pos_ < doc_.size() && is_ws(doc_[pos_])) advance(1);
    if (pos_ >= doc_.size()) {
      at_markup = false;
      return true;
    }
    const std::string_view rest = doc_.substr(pos_);
    if (rest.substr(0, 4) == "<!--") {
      const size_t e = rest.find("-->", 4);
      if (e == std::string_view::npos) return fail(err, "unterminated comment");
      advance(e + 3);
    } else if (rest.substr(0, 2) == "<?") {
      const size_t e = rest.find("?>", 2);
      if (e == std::string_view::npos) return fail(err, "unterminated processing instruction");
      advance(e + 2);
    } else if (rest[0] == '<') {
      at_markup = true;
      return true;
    } else {
      return fail(err, "text outside the root element");
    }
  }
}

bool Reader::next(Event& ev, std::string& err) {
  ev.attributes.clear();
  ev.text.clear();
  ev.name.clear();
  if (pending_close_) {
    pending_close_ = false;
    ev.kind = Event::Close;
    ev.name = pending_name_;
    ev.line = line_;
    return true;
  }
  for (;;) {
    if (stack_.empty()) {
      bool at_markup = false;
      if (!skip_misc(err, at_markup)) return false;
      if (!at_markup) {
        if (!root_seen_) return fail(err, "no root element");
        ev.kind = Event::End;
        ev.line = line_;
        return true;
      }
      if (doc_.substr(pos_, 2) == "<!") return fail(err, "DOCTYPE and other declarations are not read");
      if (doc_.substr(pos_, 2) == "</") return fail(err, "end tag without a start tag");
      if (root_seen_) return fail(err, "a second root element");
    } else {
      if (pos_ >= doc_.size()) return fail(err, "element <" + stack_.back() + "> is not closed");
      const std::string_view rest = doc_.substr(pos_);
      if (rest[0] != '<') {  // text, up to the next markup
        const size_t e = std::min(rest.find('<'), rest.size());
        ev.kind = Event::Text;
        ev.line = line_;
        if (!decode(rest.substr(0, e), ev.text, err)) return false;
        advance(e);
        return true;
      }
      if (rest.substr(0, 4) == "<!--") {
        const size_t e = rest.find("-->", 4);
        if (e == std::string_view::npos) return fail(err, "unterminated comment");
        advance(e + 3);
        continue;
      }
      if (rest.substr(0, 9) == "<![CDATA[") {
        const size_t e = rest.find("]]>", 9);
        if (e == std::string_view::npos) return fail(err, "unterminated CDATA section");
        ev.kind = Event::Text;
        ev.line = line_;
        ev.text.assign(rest.substr(9, e - 9));
        for (char c : ev.text)
          if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return fail(err, "control byte in a CDATA section");
        advance(e + 3);
        return true;
      }
      if (rest.substr(0, 2) == "<?") {
        const size_t e = rest.find("?>", 2);
        if (e == std::string_view::npos) return fail(err, "unterminated processing instruction");
        advance(e + 2);
        continue;
      }
      if (rest.substr(0, 2) == "<!") return fail(err, "DOCTYPE and other declarations are not read");
      if (rest.substr(0, 2) == "</") {
        ev.line = line_;
        advance(2);
        std::string qname;
        if (!read_name(qname, err)) return false;
        while (pos_ < doc_.size() && is_ws(doc_[pos_])) advance(1);
        if (pos_ >= doc_.size() || doc_[pos_] != '>') return fail(err, "malformed end tag </" + qname);
        advance(1);
        if (qname != stack_.back())
          return fail(err, "end tag </" + qname + "> does not close <" + stack_.back() + ">");
        stack_.pop_back();
        ev.kind = Event::Close;
        ev.name = local(qname);
        return true;
      }
    }
    // A start tag at pos_.
    ev.line = line_;
    advance(1);
    std::string qname;
    if (!read_name(qname, err)) return false;
    for (;;) {
      const size_t before = pos_;
      while (pos_ < doc_.size() && is_ws(doc_[pos_])) advance(1);
      if (pos_ >= doc_.size()) return fail(err, "start tag <" + qname + " is not closed");
      if (doc_.substr(pos_, 2) == "/>" || doc_[pos_] == '>') break;
      if (pos_ == before) return fail(err, "attributes of <" + qname + "> must be separated by whitespace");
      if (ev.attributes.size() == kMaxAttributes)
        return fail(err, "more than " + std::to_string(kMaxAttributes) + " attributes on <" + qname + ">");
      std::string an;
      if (!read_name(an, err)) return false;
      while (pos_ < doc_.size() && is_ws(doc_[pos_])) advance(1);
      if (pos_ >= doc_.size() || doc_[pos_] != '=') return fail(err, "attribute " + an + " has no '='");
      advance(1);
      while (pos_ < doc_.size() && is_ws(doc_[pos_])) advance(1);
      if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\'')) return fail(err, "attribute " + an + " is not quoted");
      const char q = doc_[pos_];
      const size_t close = doc_.find(q, pos_ + 1);
      if (close == std::string_view::npos) return fail(err, "attribute " + an + " is not closed");
      const std::string_view raw = doc_.substr(pos_ + 1, close - pos_ - 1);
      if (raw.find('<') != std::string_view::npos) return fail(err, "'<' in the value of attribute " + an);
      Attribute a;
      a.name = local(an);
      if (!decode(raw, a.value, err)) return false;
      for (char& c : a.value)
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';  // attribute value normalisation
      for (const Attribute& o : ev.attributes)
        if (o.name == a.name) return fail(err, "attribute " + an + " given twice on <" + qname + ">");
      advance(close + 1 - pos_);
      ev.attributes.push_back(std::move(a));
    }
    const bool empty = doc_[pos_] == '/';
    advance(empty ? 2 : 1);
    if (stack_.size() >= kMaxDepth) return fail(err, "elements nested deeper than " + std::to_string(kMaxDepth));
    root_seen_ = true;
    ev.kind = Event::Open;
    ev.name = local(qname);
    if (empty) {
      pending_close_ = true;
      pending_name_ = ev.name;
    } else {
      stack_.push_back(std::move(qname));
    }
    return true;
  }
}

}  // namespace triage::cli::xml
