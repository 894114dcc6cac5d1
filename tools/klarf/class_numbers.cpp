#include "tools/klarf/class_numbers.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <set>

#include "tools/klarf/klarf_tokenizer.h"

namespace triage::klarf {
namespace {

constexpr size_t kMaxMapBytes = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return u;
}

}  // namespace

bool read_class_map(const std::string& path, ClassMap& out, std::string& err) {
  out.clear();
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    err = "cannot open for reading";
    return false;
  }
  std::string text(kMaxMapBytes + 1, '\0');
  const size_t n = std::fread(text.data(), 1, text.size(), f);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    err = "read error";
    return false;
  }
  if (n > kMaxMapBytes) {
    err = "larger than " + std::to_string(kMaxMapBytes) + " bytes";
    return false;
  }
  text.resize(n);
  std::set<std::string> names;
  uint32_t line = 0;
  bool first = true;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string_view raw = trim(std::string_view(text).substr(pos, nl - pos));
    pos = nl + 1;
    ++line;
    if (raw.empty() || raw[0] == '#') continue;
    const bool header = first && same_word(raw, "class_name,number");
    first = false;
    if (header) continue;
    const size_t comma = raw.find(',');
    if (comma == std::string_view::npos || raw.find(',', comma + 1) != std::string_view::npos) {
      err = at_line(line, "expected class_name,number");
      return false;
    }
    const std::string_view name = trim(raw.substr(0, comma)), number = trim(raw.substr(comma + 1));
    int32_t value = 0;
    if (name.empty()) {
      err = at_line(line, "empty class name");
      return false;
    }
    if (!parse_int32(number, value)) {
      err = at_line(line, "class number " + shown(number) + " is not an integer");
      return false;
    }
    if (!names.insert(std::string(name)).second) {
      err = at_line(line, "class " + shown(name) + " is mapped twice");
      return false;
    }
    if (out.size() >= kMaxClasses) {
      err = at_line(line, "more than " + std::to_string(kMaxClasses) + " classes");
      return false;
    }
    out.emplace_back(std::string(name), value);
  }
  return true;
}

bool number_classes(const std::vector<std::string>& model_classes, const std::vector<ClassEntry>& lookup, const ClassMap* map,
                    ClassNumbering& out, std::string& err) {
  out = ClassNumbering{};
  std::set<int32_t> known;
  for (const ClassEntry& e : lookup) known.insert(e.number);
  if (map) {
    for (const auto& [name, number] : *map)
      if (std::find(model_classes.begin(), model_classes.end(), name) == model_classes.end()) {
        err = "class map names " + shown(name) + ", which is not a class of the model";
        return false;
      }
    for (const std::string& c : model_classes) {
      const auto it = std::find_if(map->begin(), map->end(), [&](const auto& m) { return m.first == c; });
      if (it == map->end()) {
        err = "class map has no number for the model's class " + shown(c);
        return false;
      }
      out.numbers.push_back(it->second);
      if (known.insert(it->second).second) out.added.push_back({it->second, c});
    }
    return true;
  }
  int64_t next = 1;
  for (const ClassEntry& e : lookup) next = std::max<int64_t>(next, int64_t(e.number) + 1);
  for (const std::string& c : model_classes) {
    const auto it = std::find_if(lookup.begin(), lookup.end(), [&](const ClassEntry& e) { return upper(e.name) == upper(c); });
    if (it != lookup.end()) {
      out.numbers.push_back(it->number);
      continue;
    }
    if (next > std::numeric_limits<int32_t>::max()) {
      err = "no class numbers left above the ClassLookup's highest (" + std::to_string(next - 1) + ")";
      return false;
    }
    out.numbers.push_back(static_cast<int32_t>(next));
    out.added.push_back({static_cast<int32_t>(next), c});
    ++next;
  }
  return true;
}

}  // namespace triage::klarf
