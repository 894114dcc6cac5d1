// KLARF 1.2: a sequence of statements `Keyword value ... ;` (keywords case-insensitive). Read closely:
// FileVersion (first), WaferID, TiffFileName, DefectRecordSpec, DefectList, ClassLookup, EndOfFile;
// every other statement is only checked to end with `;`. A DefectList holds the defect records of the
// last DefectRecordSpec, one value per column except IMAGELIST: a count, then that many pairs (image
// number within the last TiffFileName, image type).
#include <set>
#include <string>
#include <vector>

#include "tools/klarf/klarf_tokenizer.h"
#include "tools/klarf/klarf_versions.h"

namespace triage::klarf {
namespace {

constexpr size_t kNone = SIZE_MAX;

struct Spec {
  bool present = false;
  size_t columns = 0;
  size_t defect_id = kNone, class_number = kNone, auto_class = kNone, image_count = kNone, image_list = kNone;
};

class Reader12 {
 public:
  Reader12(Document& doc, const ReadOptions& opt) : doc_(doc), opt_(opt), tk_(doc.text, false) {}
  bool run(std::string& err);

 private:
  bool next(Token& t) {
    if (!tk_.next(t, err_)) return false;
    if (t.kind != Tok::end) last_line_ = t.line;
    return true;
  }
  std::string_view text(const Token& t) const { return doc_.bytes(t.span); }
  bool fail(uint32_t line, const std::string& why) {
    err_ = at_line(line, why);
    return false;
  }
  // Consumes tokens through the statement's `;`.
  bool skip_statement(const Token& keyword);
  // The statement's values (through its `;`).
  bool values(const Token& keyword, std::vector<Token>& out);
  bool file_version(const Token& kw);
  bool wafer_id(const Token& kw);
  bool tiff_file_name(const Token& kw);
  bool record_spec(const Token& kw);
  bool defect_list(const Token& kw);
  bool class_lookup(const Token& kw);
  bool end_wafer();

  Document& doc_;
  const ReadOptions& opt_;
  Tokenizer tk_;
  std::string err_;
  Spec spec_;
  bool have_tiff_ = false;
  std::string tiff_;
  bool in_wafer_ = false, wafer_has_list_ = false;
  uint32_t wafer_line_ = 0;
  std::string wafer_name_;
  size_t first_wafer_at_ = kNone;
  uint32_t last_line_ = 1;  // line of the last token read
};

bool Reader12::skip_statement(const Token& kw) {
  Token t;
  for (;;) {
    if (!next(t)) return false;
    if (t.kind == Tok::semicolon) return true;
    if (t.kind == Tok::end) return fail(kw.line, shown(text(kw)) + " is not ended by ';'");
  }
}

bool Reader12::values(const Token& kw, std::vector<Token>& out) {
  out.clear();
  Token t;
  for (;;) {
    if (!next(t)) return false;
    if (t.kind == Tok::semicolon) return true;
    if (t.kind == Tok::end) return fail(kw.line, shown(text(kw)) + " is not ended by ';'");
    if (out.size() >= kMaxColumns) return fail(t.line, shown(text(kw)) + " has more than " + std::to_string(kMaxColumns) + " values");
    out.push_back(t);
  }
}

bool Reader12::file_version(const Token& kw) {
  std::vector<Token> v;
  if (!values(kw, v)) return false;
  int32_t major = 0, minor = 0;
  if (v.size() != 2 || !parse_int32(text(v[0]), major) || !parse_int32(text(v[1]), minor))
    return fail(kw.line, "FileVersion needs two integers (major minor)");
  if (major != 1) return fail(kw.line, "FileVersion " + std::to_string(major) + " is not KLARF 1.x");
  return true;
}

bool Reader12::end_wafer() {
  if (in_wafer_ && !wafer_has_list_)
    return fail(wafer_line_, "WaferID " + shown(wafer_name_) + " has no DefectList (write `DefectList;` for a wafer without defects)");
  return true;
}

bool Reader12::wafer_id(const Token& kw) {
  if (!end_wafer()) return false;
  std::vector<Token> v;
  if (!values(kw, v)) return false;
  if (v.empty()) return fail(kw.line, "WaferID without a value");
  if (first_wafer_at_ == kNone) first_wafer_at_ = kw.span.begin;
  in_wafer_ = true;
  wafer_has_list_ = false;
  wafer_line_ = kw.line;
  wafer_name_ = std::string(unquoted(text(v[0])));
  ++doc_.wafers;
  return true;
}

bool Reader12::tiff_file_name(const Token& kw) {
  std::vector<Token> v;
  if (!values(kw, v)) return false;
  if (v.empty()) return fail(kw.line, "TiffFileName without a file name");
  tiff_ = std::string(unquoted(text(v[0])));
  have_tiff_ = true;
  return true;
}

bool Reader12::record_spec(const Token& kw) {
  std::vector<Token> v;
  if (!values(kw, v)) return false;
  size_t n = 0;
  if (v.empty() || !parse_count(text(v[0]), kMaxColumns, n) || n == 0)
    return fail(kw.line, "DefectRecordSpec needs a column count of 1.." + std::to_string(kMaxColumns));
  if (v.size() - 1 != n)
    return fail(kw.line, "DefectRecordSpec declares " + std::to_string(n) + " columns but names " + std::to_string(v.size() - 1));
  spec_ = Spec{};
  spec_.present = true;
  spec_.columns = n;
  std::set<std::string> seen;
  for (size_t c = 0; c < n; ++c) {
    const std::string_view name = text(v[c + 1]);
    std::string upper(name);
    for (char& ch : upper)
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
    if (!seen.insert(upper).second) return fail(v[c + 1].line, "DefectRecordSpec names column " + shown(name) + " twice");
    if (upper == "DEFECTID") spec_.defect_id = c;
    else if (upper == "CLASSNUMBER") spec_.class_number = c;
    else if (upper == "IMAGECOUNT") spec_.image_count = c;
    else if (upper == "IMAGELIST") spec_.image_list = c;
    else if (!opt_.auto_column_v12.empty() && same_word(name, opt_.auto_column_v12)) spec_.auto_class = c;
  }
  return true;
}

bool Reader12::defect_list(const Token& kw) {
  if (!spec_.present) return fail(kw.line, "DefectList before any DefectRecordSpec");
  if (!in_wafer_) return fail(kw.line, "DefectList before any WaferID");
  wafer_has_list_ = true;
  Token t;
  for (;;) {
    if (!next(t)) return false;
    if (t.kind == Tok::semicolon) return true;
    if (t.kind == Tok::end) return fail(kw.line, "DefectList is not ended by ';'");
    if (doc_.defects.size() >= kMaxDefects) return fail(t.line, "more than " + std::to_string(kMaxDefects) + " defects");
    Defect d;
    d.line = t.line;
    const size_t ordinal = doc_.defects.size() + 1;
    for (size_t c = 0; c < spec_.columns; ++c) {
      if (c > 0) {
        if (!next(t)) return false;
        if (t.kind == Tok::semicolon || t.kind == Tok::end)
          return fail(t.line, "defect record " + std::to_string(ordinal) + " ends after " + std::to_string(c) + " of its " +
                                  std::to_string(spec_.columns) + " values (DefectRecordSpec)");
      }
      const std::string_view v = text(t);
      int32_t i32 = 0;
      size_t count = 0;
      if (c == spec_.defect_id) {
        if (!parse_int32(v, i32)) return fail(t.line, "DEFECTID " + shown(v) + " is not an integer");
        d.id = std::string(v);
      } else if (c == spec_.class_number) {
        if (v != "NA" && !parse_int32(v, i32)) return fail(t.line, "CLASSNUMBER " + shown(v) + " is not an integer");
        d.has_class = true;
        d.class_value = t.span;
      } else if (c == spec_.auto_class) {
        if (v != "NA" && !parse_int32(v, i32)) return fail(t.line, shown(opt_.auto_column_v12) + " " + shown(v) + " is not an integer");
        d.has_auto = true;
        d.auto_value = t.span;
      } else if (c == spec_.image_count) {
        if (!parse_count(v, kMaxImagesPerDefect, count))
          return fail(t.line, "IMAGECOUNT " + shown(v) + " is not a count of 0.." + std::to_string(kMaxImagesPerDefect));
      } else if (c == spec_.image_list) {
        if (!parse_count(v, kMaxImagesPerDefect, count))
          return fail(t.line, "IMAGELIST count " + shown(v) + " is not a count of 0.." + std::to_string(kMaxImagesPerDefect));
        if (count > 0 && !have_tiff_) return fail(t.line, "defect record " + std::to_string(ordinal) + " lists images but no TiffFileName precedes it");
        for (size_t k = 0; k < count; ++k) {
          Token number, type;
          if (!next(number)) return false;
          if (number.kind == Tok::word && !next(type)) return false;
          if (number.kind != Tok::word || type.kind == Tok::semicolon || type.kind == Tok::end)
            return fail(number.line, "IMAGELIST declares " + std::to_string(count) + " images but ends after " + std::to_string(k));
          int32_t position = 0;
          if (!parse_int32(text(number), position) || position < 1)
            return fail(number.line, "IMAGELIST image number " + shown(text(number)) + " is not an integer >= 1");
          d.images.push_back({tiff_, static_cast<uint32_t>(position)});
        }
      }
    }
    doc_.defects.push_back(std::move(d));
  }
}

bool Reader12::class_lookup(const Token& kw) {
  ClassLookup& lk = doc_.lookup;
  ++lk.count;
  if (lk.count > 1) return skip_statement(kw);  // only the first is read (and extended)
  lk.line = kw.line;
  Token t;
  if (!next(t)) return false;
  size_t n = 0;
  if (t.kind != Tok::word || !parse_count(text(t), kMaxClasses, n))
    return fail(kw.line, "ClassLookup needs an entry count of 0.." + std::to_string(kMaxClasses));
  lk.count_value = t.span;
  lk.append_at = t.span.end;
  size_t last_number_at = kNone;
  for (size_t i = 0; i < n; ++i) {
    Token number, name;
    if (!next(number)) return false;
    if (number.kind == Tok::word && !next(name)) return false;
    if (number.kind != Tok::word || name.kind == Tok::semicolon || name.kind == Tok::end)
      return fail(number.line, "ClassLookup declares " + std::to_string(n) + " classes but ends after " + std::to_string(i));
    int32_t value = 0;
    if (!parse_int32(text(number), value)) return fail(number.line, "ClassLookup class number " + shown(text(number)) + " is not an integer");
    lk.entries.push_back({value, std::string(unquoted(text(name)))});
    last_number_at = number.span.begin;
    lk.append_at = name.span.end;
  }
  if (!next(t)) return false;
  if (t.kind != Tok::semicolon)
    return fail(t.line, "ClassLookup declares " + std::to_string(n) + " classes but holds more (or lacks its ';')");
  lk.indent = last_number_at == kNone ? " " : indent_of(doc_.text, last_number_at, " ");
  return true;
}

bool Reader12::run(std::string& err) {
  Token kw;
  bool first = true;
  for (;;) {
    if (!next(kw)) break;
    if (kw.kind == Tok::end) {
      fail(last_line_, "no EndOfFile (the file is cut short?)");
      break;
    }
    if (kw.kind == Tok::semicolon) continue;  // an empty statement
    const std::string_view word = text(kw);
    if (kw.kind != Tok::word) {
      fail(kw.line, "expected a keyword, found " + shown(word));
      break;
    }
    if (first != same_word(word, "FileVersion")) {
      fail(kw.line, first ? "the first statement is not FileVersion" : "a second FileVersion");
      break;
    }
    first = false;
    bool ok = true;
    if (same_word(word, "FileVersion")) ok = file_version(kw);
    else if (same_word(word, "WaferID")) ok = wafer_id(kw);
    else if (same_word(word, "TiffFileName")) ok = tiff_file_name(kw);
    else if (same_word(word, "DefectRecordSpec")) ok = record_spec(kw);
    else if (same_word(word, "DefectList")) ok = defect_list(kw);
    else if (same_word(word, "ClassLookup")) ok = class_lookup(kw);
    else if (same_word(word, "EndOfFile")) {
      Token t;
      if (!next(t)) break;
      if (t.kind != Tok::semicolon) {
        fail(kw.line, "EndOfFile is not ended by ';'");
        break;
      }
      if (!next(t)) break;
      if (t.kind != Tok::end) {
        fail(t.line, "text after EndOfFile");
        break;
      }
      if (!end_wafer()) break;
      if (doc_.lookup.count == 0) doc_.lookup.insert_at = first_wafer_at_ != kNone ? first_wafer_at_ : kw.span.begin;
      return true;
    } else ok = skip_statement(kw);
    if (!ok) break;
  }
  err = err_;
  return false;
}

}  // namespace

bool read_v12(Document& doc, const ReadOptions& opt, std::string& err) {
  Reader12 r(doc, opt);
  return r.run(err);
}

}  // namespace triage::klarf
