// Reads a KLARF 1.2 or 1.8 file into a Document (klarf_document.h): the version from the first
// statement (`FileVersion` = 1.2, `Record FileRecord` = 1.8), then the whole structure checked, every
// defect's class token and image references located, the ClassLookup table read.
//
// Refused as malformed, with the line and why: a file over kMaxFileBytes, a line over kMaxLineBytes, a
// NUL byte, an unterminated string, a statement without its `;` (1.2), unbalanced braces (1.8), a count
// that is not a plain decimal number or exceeds its limit (klarf_document.h), a count that disagrees with
// what follows it (DefectRecordSpec / Columns vs the column names, Field N vs its values, Data N /
// ClassLookup N vs the rows, IMAGELIST / ImageList N vs the images), a defect record cut short, a
// DEFECTID / CLASSNUMBER / IMAGECOUNT / image number that is not a strict integer, a 1.8 value that does
// not parse as its column's int or float type (NA is accepted), a 1.2 WaferID without a DefectList, no
// EndOfFile, anything but blanks after it.
#pragma once

#include <string>

#include "tools/klarf/klarf_document.h"

namespace triage::klarf {

struct ReadOptions {
  // The auto-classification column located besides CLASSNUMBER (Defect::auto_value), per version;
  // "" = none. The defaults are what `triage klarf` writes without --auto-column.
  std::string auto_column_v12;
  std::string auto_column_v18 = "AUTOOFFSEMCLASS";
};

// Parses text (kept as Document::text). false + err: one line, "line N: why".
bool read_klarf(std::string text, const ReadOptions& opt, Document& doc, std::string& err);
// Reads path (at most kMaxFileBytes) and parses it. err does not name the file.
bool read_klarf_file(const std::string& path, const ReadOptions& opt, Document& doc, std::string& err);

}  // namespace triage::klarf
