// Labelled image sets for `triage calibrate` and `triage eval`:
//   - a CSV file with a header naming at least the columns `path` and `label` (or another label
//     column chosen by the caller; other columns are ignored); paths are relative to the CSV's folder (absolute paths are kept); RFC 4180 quoting
//     ("a,b" and "" for a quote) is handled, a quoted field running over a line end is rejected;
//   - a folder of class-named subfolders: DIR/<label>/<image files> (hidden entries skipped; image
//     files directly in DIR are an error: they have no class).
// Hard caps keep hostile input bounded; every error names the file and line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace triage::cli {

inline constexpr size_t kMaxDatasetImages = 10'000'000;
inline constexpr size_t kMaxLabelsCsvBytes = size_t(1) << 30;  // 1 GiB
inline constexpr size_t kMaxCsvLineBytes = 64 * 1024;
inline constexpr size_t kMaxCsvColumns = 256;
inline constexpr size_t kMaxLabelBytes = 256;

struct LabelledFile {
  std::string path;   // as it will be opened
  std::string label;  // class name
  size_t line = 0;    // CSV line (1-based), 0 in folder mode
};

// Parses CSV text (what: the file name for messages; base_dir: prefix of relative paths, may be
// empty). Does not touch the file system. label_column: the column holding the class (`label`, or
// the engineer's manual classification column of `triage eval --manual-column`).
bool parse_labels_csv(std::string_view text, const std::string& what, const std::string& base_dir,
                      std::vector<LabelledFile>& out, std::string& err, const std::string& label_column = "label");

// spec: a CSV file or a folder of class subfolders. Checks that every listed file exists and that
// no file is listed twice (a duplicate would count twice in a bound). A label_column other than
// `label` needs a CSV (a folder has no columns).
bool load_dataset(const std::string& spec, std::vector<LabelledFile>& out, std::string& err,
                  const std::string& label_column = "label");

}  // namespace triage::cli
