// CSV and folder loaders for labelled image sets (see dataset.h).
#include "tools/cli/dataset.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "tools/cli/image_io.h"
#include "tools/cli/text.h"
#include "tools/convert/file_io.h"

namespace triage::cli {
namespace fs = std::filesystem;

namespace {

std::string at(const std::string& what, size_t line) { return printable(what) + ":" + std::to_string(line) + ": "; }

// Splits one line (no line terminator) into fields. false + err on bad quoting or too many fields.
bool split_csv_line(std::string_view line, std::vector<std::string>& fields, std::string& err) {
  fields.clear();
  size_t i = 0;
  while (true) {
    if (fields.size() >= kMaxCsvColumns) {
      err = "more than " + std::to_string(kMaxCsvColumns) + " columns";
      return false;
    }
    std::string f;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) {
          err = "a quoted field is not closed on its line (fields spanning lines are not supported)";
          return false;
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            f.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        f.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',') {
        err = "text after the closing quote of a field";
        return false;
      }
    } else {
      const size_t end = std::min(line.find(',', i), line.size());
      f.assign(line.substr(i, end - i));
      if (f.find('"') != std::string::npos) {
        err = "a quote inside an unquoted field (quote the whole field and double the quote)";
        return false;
      }
      i = end;
    }
    fields.push_back(std::move(f));
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

}  // namespace

bool parse_labels_csv(std::string_view text, const std::string& what, const std::string& base_dir,
                      std::vector<LabelledFile>& out, std::string& err, const std::string& label_column) {
  out.clear();
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  std::vector<std::string> fields;
  size_t col_path = SIZE_MAX, col_label = SIZE_MAX, columns = 0;
  size_t line_no = 0, pos = 0;
  bool header = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.size() > kMaxCsvLineBytes) {
      err = at(what, line_no) + "line longer than " + std::to_string(kMaxCsvLineBytes) + " bytes";
      return false;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;  // blank lines carry nothing
    if (line.find('\0') != std::string_view::npos) {
      err = at(what, line_no) + "NUL byte (not a text file?)";
      return false;
    }
    if (!split_csv_line(line, fields, err)) {
      err = at(what, line_no) + err;
      return false;
    }
    if (header) {
      std::set<std::string> seen;
      for (size_t c = 0; c < fields.size(); ++c) {
        if (!seen.insert(fields[c]).second) {
          err = at(what, line_no) + "column '" + printable(fields[c]) + "' appears twice in the header";
          return false;
        }
        if (fields[c] == "path") col_path = c;
        if (fields[c] == label_column) col_label = c;
      }
      if (col_path == SIZE_MAX || col_label == SIZE_MAX) {
        err = at(what, line_no) + "the header must name the columns 'path' and '" + printable(label_column) + "'";
        return false;
      }
      columns = fields.size();
      header = false;
      continue;
    }
    if (fields.size() != columns) {
      err = at(what, line_no) + std::to_string(fields.size()) + " fields, the header has " + std::to_string(columns);
      return false;
    }
    if (out.size() >= kMaxDatasetImages) {
      err = at(what, line_no) + "more than " + std::to_string(kMaxDatasetImages) + " images";
      return false;
    }
    const std::string& p = fields[col_path];
    const std::string& l = fields[col_label];
    if (p.empty() || l.empty()) {
      err = at(what, line_no) + "empty " + (p.empty() ? std::string("path") : printable(label_column));
      return false;
    }
    if (l.size() > kMaxLabelBytes) {
      err = at(what, line_no) + "label longer than " + std::to_string(kMaxLabelBytes) + " bytes";
      return false;
    }
    const bool absolute = fs::path(p).is_absolute();
    out.push_back({absolute || base_dir.empty() ? p : (fs::path(base_dir) / p).string(), l, line_no});
  }
  if (header) {
    err = printable(what) + ": empty (no header line)";
    return false;
  }
  if (out.empty()) {
    err = printable(what) + ": no images listed";
    return false;
  }
  return true;
}

namespace {

bool load_folder(const std::string& dir, std::vector<LabelledFile>& out, std::string& err) {
  std::error_code ec;
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (e.is_directory(ec)) classes.push_back(e.path());
    else if (e.is_regular_file(ec) && is_image_name(name)) {
      err = printable(e.path().string()) + ": an image directly in the data folder has no class (use DIR/<label>/"
            "<images>, or a labels CSV)";
      return false;
    }
  }
  if (ec) {
    err = "cannot list " + printable(dir) + ": " + ec.message();
    return false;
  }
  std::sort(classes.begin(), classes.end());
  for (const fs::path& c : classes) {
    const std::string label = c.filename().string();
    if (label.size() > kMaxLabelBytes) {
      err = printable(c.string()) + ": class folder name longer than " + std::to_string(kMaxLabelBytes) + " bytes";
      return false;
    }
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(c, ec)) {
      const std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '.' || !is_image_name(name) || !e.is_regular_file(ec)) continue;
      files.push_back(e.path().string());
      if (out.size() + files.size() > kMaxDatasetImages) {
        err = printable(dir) + ": more than " + std::to_string(kMaxDatasetImages) + " images";
        return false;
      }
    }
    if (ec) {
      err = "cannot list " + printable(c.string()) + ": " + ec.message();
      return false;
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) out.push_back({std::move(f), label, 0});
  }
  if (out.empty()) {
    err = printable(dir) + ": no images found in class subfolders (DIR/<label>/<images>)";
    return false;
  }
  return true;
}

}  // namespace

bool load_dataset(const std::string& spec, std::vector<LabelledFile>& out, std::string& err,
                  const std::string& label_column) {
  out.clear();
  std::error_code ec;
  if (fs::is_directory(spec, ec)) {
    if (label_column != "label") {
      err = printable(spec) + ": a folder has no column '" + printable(label_column) + "' (give a labels CSV)";
      return false;
    }
    if (!load_folder(spec, out, err)) return false;
  } else {
    std::vector<uint8_t> bytes;
    convert::Error cerr;
    if (!convert::read_file_bytes(spec, kMaxLabelsCsvBytes, bytes, cerr)) {
      err = cerr.message;
      return false;
    }
    const std::string base = fs::path(spec).parent_path().string();
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (!parse_labels_csv(text, spec, base, out, err, label_column)) return false;
  }
  // Every file must exist, and none may count twice.
  std::set<std::string> seen;
  for (const LabelledFile& f : out) {
    const std::string where = f.line ? printable(spec) + ":" + std::to_string(f.line) + ": " : "";
    if (!fs::is_regular_file(f.path, ec)) {
      err = where + printable(f.path) + ": no such file";
      return false;
    }
    std::string key = fs::weakly_canonical(f.path, ec).string();
    if (ec) key = f.path;
    if (!seen.insert(key).second) {
      err = where + printable(f.path) + ": listed twice (it would count twice in every rate)";
      return false;
    }
  }
  return true;
}

}  // namespace triage::cli
