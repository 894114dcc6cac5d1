// KLARF 1.8: nested blocks, `Record FileRecord "1.8" { ... } EndOfFile;` at the top.
//   Record NAME ["id"] { Record... Field... List... }
//   Field NAME N { v, v, ... }                      exactly N values
//   List NAME { Columns N { type name, ... } Data M { v v ... ; ... } }   M rows of N values each
// A column whose type ends in "List" (ImageList) holds an embedded list per row: `N` (or 0) for none,
// else `NAME K { entry, entry, ... }` with K entries; an ImageList entry is `"file" "type" position
// "name"`. int32 / float / double values must parse as such (or be NA).
#include <set>
#include <string>
#include <vector>

#include "tools/klarf/klarf_tokenizer.h"
#include "tools/klarf/klarf_versions.h"

namespace triage::klarf {
namespace {

constexpr size_t kNone = SIZE_MAX;
constexpr size_t kMaxEntryTokens = 64;  // tokens of one embedded-list entry

enum class Kind : uint8_t { int32, int64, real, text, list };

struct Column {
  std::string type, name;
  Kind kind = Kind::text;
};

Kind kind_of(std::string_view type) {
  if (same_word(type, "int32")) return Kind::int32;
  for (const char* t : {"int8", "int16", "int64", "uint8", "uint16", "uint32", "uint64"})
    if (same_word(type, t)) return Kind::int64;
  if (same_word(type, "float") || same_word(type, "double")) return Kind::real;
  if (type.size() >= 4 && same_word(type.substr(type.size() - 4), "list")) return Kind::list;
  return Kind::text;
}

bool is_value(const Token& t) { return t.kind == Tok::word || t.kind == Tok::quoted; }

class Reader18 {
 public:
  Reader18(Document& doc, const ReadOptions& opt) : doc_(doc), opt_(opt), tk_(doc.text, true) {}
  bool run(std::string& err);

 private:
  bool next(Token& t) {
    if (!tk_.next(t, err_)) return false;
    if (t.kind != Tok::end) last_line_ = t.line;
    return true;
  }
  std::string_view text(const Token& t) const { return doc_.bytes(t.span); }
  std::string found(const Token& t) const { return t.kind == Tok::end ? "the end of the file" : shown(text(t)); }
  bool fail(uint32_t line, const std::string& why) {
    err_ = at_line(line, why);
    return false;
  }
  // Reads the next token and checks its kind (a word equal to `word` when given).
  bool expect(Tok kind, const char* what, Token& t, std::string_view word = {}) {
    if (!next(t)) return false;
    if (t.kind != kind || (!word.empty() && !same_word(text(t), word)))
      return fail(t.line, std::string("expected ") + what + ", found " + found(t));
    return true;
  }
  bool record(size_t depth, const Token& kw, Token& name);
  bool body(size_t depth, const Token& open, Token& close);
  bool field(const Token& kw);
  bool list(const Token& kw);
  bool value(const std::string& list, const Column& col, const Token& t, std::vector<ImageRef>* images);
  void choose_insert(const Token& close);

  Document& doc_;
  const ReadOptions& opt_;
  Tokenizer tk_;
  std::string err_;
  uint32_t last_line_ = 1;
  bool insert_chosen_ = false;
};

void Reader18::choose_insert(const Token& close) {
  ClassLookup& lk = doc_.lookup;
  const std::string& s = doc_.text;
  const std::string ind = indent_of(s, close.span.begin, std::string(1, '\0'));
  if (ind != std::string(1, '\0')) {
    lk.insert_at = close.span.begin - ind.size();
    lk.insert_indent = ind + "  ";
    lk.insert_newline = false;
  } else {
    lk.insert_at = close.span.begin;
    lk.insert_indent = "  ";
    lk.insert_newline = true;
  }
}

bool Reader18::body(size_t depth, const Token& open, Token& close) {
  Token t;
  for (;;) {
    if (!next(t)) return false;
    if (t.kind == Tok::close) {
      close = t;
      return true;
    }
    if (t.kind == Tok::end) return fail(open.line, "this '{' is never closed (the file is cut short?)");
    const std::string_view w = text(t);
    bool ok;
    Token name;
    if (t.kind == Tok::word && same_word(w, "Record")) ok = record(depth, t, name);
    else if (t.kind == Tok::word && same_word(w, "Field")) ok = field(t);
    else if (t.kind == Tok::word && same_word(w, "List")) ok = list(t);
    else return fail(t.line, "unexpected " + found(t) + " (expected Record, Field, List or '}')");
    if (!ok) return false;
  }
}

bool Reader18::record(size_t depth, const Token& kw, Token& name) {
  if (!expect(Tok::word, "a record name after Record", name)) return false;
  Token t;
  if (!next(t)) return false;
  if (is_value(t) && !next(t)) return false;  // the record's id
  if (t.kind != Tok::open) return fail(t.line, "expected '{' to open Record " + shown(text(name)) + ", found " + found(t));
  if (depth + 1 > kMaxDepth) return fail(t.line, "records nested deeper than " + std::to_string(kMaxDepth));
  if (same_word(text(name), "WaferRecord")) ++doc_.wafers;
  Token close;
  if (!body(depth + 1, t, close)) return false;
  if (!insert_chosen_ && (same_word(text(name), "LotRecord") || depth == 0)) {
    choose_insert(close);
    insert_chosen_ = true;
  }
  return true;
}

bool Reader18::field(const Token& kw) {
  Token name, count_tok, t;
  if (!expect(Tok::word, "a field name after Field", name)) return false;
  const std::string nm = shown(text(name));
  size_t count = 0;
  if (!expect(Tok::word, "a value count", count_tok)) return false;
  if (!parse_count(text(count_tok), kMaxFieldValues, count))
    return fail(count_tok.line, "Field " + nm + ": value count " + found(count_tok) + " is not a count of 0.." + std::to_string(kMaxFieldValues));
  if (!expect(Tok::open, "'{'", t)) return false;
  size_t got = 0;
  if (!next(t)) return false;
  if (t.kind != Tok::close) {
    for (;;) {
      if (!is_value(t)) return fail(t.line, "Field " + nm + ": expected a value, found " + found(t));
      if (++got > count) return fail(t.line, "Field " + nm + " declares " + std::to_string(count) + " values but holds more");
      if (!next(t)) return false;
      if (t.kind == Tok::close) break;
      if (t.kind != Tok::comma) return fail(t.line, "Field " + nm + ": expected ',' or '}' after a value, found " + found(t));
      if (!next(t)) return false;
    }
  }
  if (got != count)
    return fail(name.line, "Field " + nm + " declares " + std::to_string(count) + " values but holds " + std::to_string(got));
  return true;
}

bool Reader18::value(const std::string& list, const Column& col, const Token& first, std::vector<ImageRef>* images) {
  const std::string_view v = text(first);
  const auto bad = [&](const char* type) {
    return fail(first.line, list + " column " + shown(col.name) + ": " + shown(v) + " is not " + type);
  };
  int32_t i32;
  int64_t i64;
  double real;
  switch (col.kind) {
    case Kind::int32:
      return v == "NA" || parse_int32(v, i32) || bad("an int32");
    case Kind::int64:
      return v == "NA" || parse_int64(v, i64) || bad("an integer");
    case Kind::real:
      return v == "NA" || parse_real(v, real) || bad("a finite number");
    case Kind::text:
      return true;
    case Kind::list:
      break;
  }
  if (first.kind == Tok::word && (v == "N" || v == "0")) return true;  // no entries
  if (first.kind != Tok::word) return bad("an embedded list (N, or NAME COUNT { ... })");
  const bool image_list = same_word(col.type, "ImageList");
  Token t;
  size_t count = 0;
  if (!expect(Tok::word, "an entry count", t)) return false;
  if (!parse_count(text(t), kMaxImagesPerDefect, count))
    return fail(t.line, list + " column " + shown(col.name) + ": entry count " + found(t) + " is not a count of 0.." +
                            std::to_string(kMaxImagesPerDefect));
  if (!expect(Tok::open, "'{'", t)) return false;
  size_t got = 0;
  if (!next(t)) return false;
  if (t.kind != Tok::close) {
    for (;;) {
      std::vector<Token> entry;
      while (is_value(t)) {
        if (entry.size() >= kMaxEntryTokens) return fail(t.line, "an embedded list entry of more than " + std::to_string(kMaxEntryTokens) + " values");
        entry.push_back(t);
        if (!next(t)) return false;
      }
      if (entry.empty()) return fail(t.line, list + " column " + shown(col.name) + ": expected an entry, found " + found(t));
      if (++got > count)
        return fail(t.line, list + " column " + shown(col.name) + " declares " + std::to_string(count) + " entries but holds more");
      if (image_list) {
        int32_t position = 0;
        if (entry.size() != 4) return fail(entry[0].line, "an ImageList entry needs 4 values (\"file\" \"type\" position \"name\")");
        if (!parse_int32(text(entry[2]), position) || position < 1)
          return fail(entry[2].line, "ImageList position " + shown(text(entry[2])) + " is not an integer >= 1");
        if (images) images->push_back({std::string(unquoted(text(entry[0]))), static_cast<uint32_t>(position)});
      }
      if (t.kind == Tok::close) break;
      if (t.kind != Tok::comma) return fail(t.line, "expected ',' or '}' in an embedded list, found " + found(t));
      if (!next(t)) return false;
    }
  }
  if (got != count)
    return fail(first.line, list + " column " + shown(col.name) + " declares " + std::to_string(count) + " entries but holds " +
                                std::to_string(got));
  return true;
}

bool Reader18::list(const Token& kw) {
  Token name, t, count_tok;
  if (!expect(Tok::word, "a list name after List", name)) return false;
  const std::string nm = "List " + shown(text(name));
  if (!expect(Tok::open, "'{'", t) || !expect(Tok::word, "Columns", t, "Columns")) return false;
  size_t ncols = 0;
  if (!expect(Tok::word, "a column count", count_tok)) return false;
  if (!parse_count(text(count_tok), kMaxColumns, ncols) || ncols == 0)
    return fail(count_tok.line, nm + ": column count " + found(count_tok) + " is not a count of 1.." + std::to_string(kMaxColumns));
  if (!expect(Tok::open, "'{'", t)) return false;
  std::vector<Column> cols;
  std::set<std::string> seen;
  for (;;) {
    Token type, cname;
    if (!expect(Tok::word, "a column type", type) || !expect(Tok::word, "a column name", cname)) return false;
    if (cols.size() >= ncols) return fail(type.line, nm + " declares " + std::to_string(ncols) + " columns but names more");
    std::string upper(text(cname));
    for (char& ch : upper)
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
    if (!seen.insert(upper).second) return fail(cname.line, nm + " names column " + shown(text(cname)) + " twice");
    cols.push_back({std::string(text(type)), std::string(text(cname)), kind_of(text(type))});
    if (!next(t)) return false;
    if (t.kind == Tok::close) break;
    if (t.kind != Tok::comma) return fail(t.line, nm + ": expected ',' or '}' after a column, found " + found(t));
  }
  if (cols.size() != ncols)
    return fail(count_tok.line, nm + " declares " + std::to_string(ncols) + " columns but names " + std::to_string(cols.size()));

  const bool defects = same_word(text(name), "DefectList");
  const bool lookup = same_word(text(name), "ClassLookupList") && ++doc_.lookup.count == 1;
  size_t defect_id = kNone, class_number = kNone, auto_class = kNone, images = kNone, class_name = kNone;
  for (size_t c = 0; c < ncols; ++c) {
    const std::string& cn = cols[c].name;
    if (same_word(cn, "DEFECTID")) defect_id = c;
    else if (same_word(cn, "CLASSNUMBER")) class_number = c;
    else if (same_word(cn, "CLASSNAME")) class_name = c;
    else if (!opt_.auto_column_v18.empty() && same_word(cn, opt_.auto_column_v18)) auto_class = c;
    if (images == kNone && same_word(cols[c].type, "ImageList")) images = c;
  }
  ClassLookup& lk = doc_.lookup;
  if (lookup) {
    if (class_number == kNone || class_name == kNone) return fail(name.line, nm + " has no CLASSNUMBER or no CLASSNAME column");
    lk.line = name.line;
    for (const Column& c : cols) {
      lk.column_types.push_back(c.type);
      lk.column_names.push_back(c.name);
    }
  }

  Token data, open_data;
  size_t nrows = 0;
  if (!expect(Tok::word, "Data", data, "Data") || !expect(Tok::word, "a row count", count_tok)) return false;
  if (!parse_count(text(count_tok), kMaxListRows, nrows))
    return fail(count_tok.line, nm + ": row count " + found(count_tok) + " is not a count of 0.." + std::to_string(kMaxListRows));
  if (!expect(Tok::open, "'{'", open_data)) return false;
  if (lookup) {
    lk.count_value = count_tok.span;
    lk.append_at = open_data.span.end;
    lk.indent = indent_of(doc_.text, open_data.span.begin, "") + "  ";
  }
  size_t got = 0;
  for (;;) {
    if (!next(t)) return false;
    if (t.kind == Tok::close) break;
    if (++got > nrows) return fail(t.line, nm + ": Data declares " + std::to_string(nrows) + " rows but holds more");
    if (defects && doc_.defects.size() >= kMaxDefects) return fail(t.line, "more than " + std::to_string(kMaxDefects) + " defects");
    Defect d;
    d.line = t.line;
    ClassEntry entry;
    const size_t row_begin = t.span.begin;
    for (size_t c = 0; c < ncols; ++c) {
      if (c > 0 && !next(t)) return false;
      if (!is_value(t))
        return fail(t.line, nm + ": row " + std::to_string(got) + " ends after " + std::to_string(c) + " of its " + std::to_string(ncols) +
                                " values, at " + found(t));
      if (!value(nm, cols[c], t, defects && c == images ? &d.images : nullptr)) return false;
      const std::string_view v = text(t);
      if (defects && c == defect_id) d.id = std::string(v);
      if (defects && c == class_number) {
        d.has_class = true;
        d.class_value = t.span;
      }
      if (defects && c == auto_class) {
        d.has_auto = true;
        d.auto_value = t.span;
      }
      if (lookup && c == class_number && !parse_int32(v, entry.number))
        return fail(t.line, nm + ": class number " + shown(v) + " is not an integer");
      if (lookup && c == class_name) entry.name = std::string(unquoted(v));
    }
    if (!next(t)) return false;
    if (t.kind != Tok::semicolon)
      return fail(t.line, nm + ": row " + std::to_string(got) + " has more than its " + std::to_string(ncols) + " values (or lacks its ';'): " +
                              found(t));
    if (lookup) {
      if (lk.entries.size() >= kMaxClasses) return fail(t.line, "more than " + std::to_string(kMaxClasses) + " classes");
      lk.entries.push_back(std::move(entry));
      lk.append_at = t.span.end;
      lk.indent = indent_of(doc_.text, row_begin, lk.indent);
    }
    if (defects) doc_.defects.push_back(std::move(d));
  }
  if (got != nrows)
    return fail(data.line, nm + ": Data declares " + std::to_string(nrows) + " rows but holds " + std::to_string(got));
  return expect(Tok::close, "'}' to close the list", t);
}

bool Reader18::run(std::string& err) {
  Token kw, name, t;
  bool ok = next(kw) && record(0, kw, name);
  if (ok && !same_word(text(name), "FileRecord")) ok = fail(name.line, "not a KLARF 1.8 file: the first record is " + found(name) + ", not FileRecord");
  if (ok) {
    if (!next(t)) ok = false;
    else if (t.kind == Tok::end) ok = fail(last_line_, "no EndOfFile (the file is cut short?)");
    else if (t.kind != Tok::word || !same_word(text(t), "EndOfFile"))
      ok = fail(t.line, "expected EndOfFile after the FileRecord, found " + found(t));
    else if (!expect(Tok::semicolon, "';' after EndOfFile", t)) ok = false;
    else if (!next(t)) ok = false;
    else if (t.kind != Tok::end) ok = fail(t.line, "text after EndOfFile");
  }
  if (!ok) {
    err = err_;
    return false;
  }
  return true;
}

}  // namespace

bool read_v18(Document& doc, const ReadOptions& opt, std::string& err) {
  Reader18 r(doc, opt);
  return r.run(err);
}

}  // namespace triage::klarf
