#include "tools/klarf/klarf_writer.h"

#include <algorithm>

#include "tools/klarf/klarf_tokenizer.h"

namespace triage::klarf {
namespace {

struct Edit {
  size_t begin, end;  // bytes replaced (begin == end: an insertion)
  std::string text;
};

bool numeric_type(std::string_view type) {
  for (const char* t : {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float", "double"})
    if (same_word(type, t)) return true;
  return false;
}

// One 1.8 ClassLookupList row (without its ';') for the given columns.
std::string row_v18(const ClassLookup& lk, const ClassEntry& e) {
  std::string row;
  for (size_t c = 0; c < lk.column_names.size(); ++c) {
    const std::string& name = lk.column_names[c];
    const std::string& type = lk.column_types[c];
    if (c) row += ' ';
    if (same_word(name, "CLASSNUMBER")) row += std::to_string(e.number);
    else if (same_word(name, "CLASSNAME")) row += quote_name(e.name);
    else if (numeric_type(type)) row += '0';
    else if (type.size() >= 4 && same_word(std::string_view(type).substr(type.size() - 4), "list")) row += 'N';
    else row += "\"\"";
  }
  return row;
}

// A new table where the file has none.
std::string new_lookup(const Document& doc, const std::vector<ClassEntry>& added) {
  const std::string& eol = doc.eol;
  std::string s;
  if (doc.version == Version::v12) {
    s = "ClassLookup " + std::to_string(added.size());
    for (const ClassEntry& e : added) s += eol + " " + std::to_string(e.number) + " " + quote_name(e.name);
    return s + ";" + eol;
  }
  const std::string& in = doc.lookup.insert_indent;
  if (doc.lookup.insert_newline) s += eol;
  s += in + "List ClassLookupList" + eol + in + "{" + eol;
  s += in + "  Columns 3 { int32 CLASSNUMBER, string CLASSNAME, string CLASSCODE }" + eol;
  s += in + "  Data " + std::to_string(added.size()) + eol + in + "  {" + eol;
  for (const ClassEntry& e : added) s += in + "    " + std::to_string(e.number) + " " + quote_name(e.name) + " \"\";" + eol;
  s += in + "  }" + eol + in + "}" + eol;
  return s;
}

}  // namespace

std::string quote_name(std::string_view name) {
  std::string s = "\"";
  for (char c : name) s += (c == '"' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '_' : c;
  return s + "\"";
}

bool write_klarf(const Document& doc, const ClassUpdate& update, std::string& out, std::string& err) {
  std::vector<Edit> edits;
  std::vector<bool> seen(doc.defects.size(), false);
  for (const auto& [index, number] : update.defects) {
    if (index >= doc.defects.size()) {
      err = "class update for defect " + std::to_string(index) + " of " + std::to_string(doc.defects.size());
      return false;
    }
    const Defect& d = doc.defects[index];
    if (seen[index]) {
      err = at_line(d.line, "defect " + shown(d.id) + " updated twice");
      return false;
    }
    seen[index] = true;
    if (!d.has_class) {
      err = at_line(d.line, "defect " + shown(d.id) + " has no CLASSNUMBER column");
      return false;
    }
    edits.push_back({d.class_value.begin, d.class_value.end, std::to_string(number)});
    if (d.has_auto) edits.push_back({d.auto_value.begin, d.auto_value.end, std::to_string(number)});
  }
  const ClassLookup& lk = doc.lookup;
  if (!update.added.empty()) {
    if (lk.entries.size() + update.added.size() > kMaxClasses) {
      err = "the ClassLookup would hold more than " + std::to_string(kMaxClasses) + " classes";
      return false;
    }
    if (lk.count == 0) {
      edits.push_back({lk.insert_at, lk.insert_at, new_lookup(doc, update.added)});
    } else {
      edits.push_back({lk.count_value.begin, lk.count_value.end, std::to_string(lk.entries.size() + update.added.size())});
      std::string text;
      for (const ClassEntry& e : update.added) {
        text += doc.eol + lk.indent;
        text += doc.version == Version::v12 ? std::to_string(e.number) + " " + quote_name(e.name) : row_v18(lk, e) + ";";
      }
      edits.push_back({lk.append_at, lk.append_at, std::move(text)});
    }
  }
  std::stable_sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  out.clear();
  size_t pos = 0;
  for (const Edit& e : edits) {
    if (e.begin < pos || e.end < e.begin || e.end > doc.text.size()) {
      err = "overlapping edits (a reader bug)";
      return false;
    }
    out.append(doc.text, pos, e.begin - pos);
    out += e.text;
    pos = e.end;
  }
  out.append(doc.text, pos, std::string::npos);
  return true;
}

}  // namespace triage::klarf
