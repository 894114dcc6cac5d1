// A KLARF file (KLA Results File, versions 1.2 and 1.8) as triage reads it: the raw bytes, kept whole,
// plus what `triage klarf` needs to find and edit: every defect's class token(s) and image references,
// the ClassLookup table and where to extend it. Nothing is re-serialised: the writer (klarf_writer.h)
// replaces those few byte spans and copies every other byte as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace triage::klarf {

// Hard limits on what a file may hold; anything beyond them is refused as malformed.
inline constexpr size_t kMaxFileBytes = size_t(256) << 20;  // 256 MiB
inline constexpr size_t kMaxLineBytes = 256 * 1024;
inline constexpr size_t kMaxDefects = 2'000'000;        // in the whole file
inline constexpr size_t kMaxColumns = 1024;             // DefectRecordSpec / Columns
inline constexpr size_t kMaxImagesPerDefect = 256;      // IMAGELIST / ImageList entries of one defect
inline constexpr size_t kMaxClasses = 100'000;          // ClassLookup entries
inline constexpr size_t kMaxListRows = 10'000'000;      // rows of any one list (Data N, ClassLookup N, ...)
inline constexpr size_t kMaxFieldValues = 100'000;      // values of one 1.8 Field
inline constexpr size_t kMaxDepth = 64;                 // nesting of 1.8 Record / List blocks

enum class Version : uint8_t { v12, v18 };

// Bytes [begin, end) of Document::text.
struct Span {
  size_t begin = 0, end = 0;
  bool empty() const { return begin == end; }
};

// One review image of a defect: the file named in the KLARF (as written, quotes removed) and the
// 1-based image number inside it (1.2: the IMAGELIST image number within TiffFileName; 1.8: the
// position of the ImageList entry).
struct ImageRef {
  std::string file;
  uint32_t position = 1;
};

struct Defect {
  uint32_t line = 0;        // line of the defect's first value
  std::string id;           // the DEFECTID value as written ("" without that column)
  bool has_class = false;   // the list has a CLASSNUMBER column
  Span class_value;         // its value token (an integer or NA)
  bool has_auto = false;    // the list has the auto-classification column asked for (ReadOptions)
  Span auto_value;
  std::vector<ImageRef> images;  // in file order; empty: no image
};

struct ClassEntry {
  int32_t number = 0;
  std::string name;  // quotes removed
};

// Where the writer extends the ClassLookup (1.2 `ClassLookup N ...;`, 1.8 `List ClassLookupList`),
// or, without one, where it inserts a new one.
struct ClassLookup {
  size_t count = 0;             // how many tables the file has (the writer extends the first)
  uint32_t line = 0;            // line of the first one
  std::vector<ClassEntry> entries;
  Span count_value;             // the entry count (1.2: after ClassLookup; 1.8: after Data)
  size_t append_at = 0;         // new entries go here, each as eol + indent + entry (1.2: after the
                                // last entry or the count; 1.8: after the last row's `;` or Data's `{`)
  std::string indent;           // leading blanks of the entry lines
  std::vector<std::string> column_types, column_names;  // 1.8: the Columns, to fill new rows
  // Without a table: a new one is inserted at insert_at (1.2: before the first WaferID; 1.8: before
  // the closing brace of the first LotRecord), each line starting with insert_indent; when
  // insert_newline, an eol goes first (the brace had text before it on its line).
  size_t insert_at = 0;
  std::string insert_indent;
  bool insert_newline = false;
};

struct Document {
  std::string text;   // the file, byte for byte
  Version version = Version::v12;
  std::string eol = "\n";  // the file's line ending ("\r\n" or "\n", from its first line)
  size_t wafers = 0;
  std::vector<Defect> defects;
  ClassLookup lookup;

  std::string_view bytes(Span s) const { return std::string_view(text).substr(s.begin, s.end - s.begin); }
};

}  // namespace triage::klarf
