// Writes a read KLARF file back with new classes: the raw text with a few byte spans replaced (the
// defects' class value tokens, the ClassLookup count) and the new ClassLookup entries inserted after
// the last one (in the file's line ending and indentation); every other byte is copied as read. With an
// empty update the output is the input, byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/klarf/klarf_document.h"

namespace triage::klarf {

struct ClassUpdate {
  std::vector<std::pair<size_t, int32_t>> defects;  // (index into Document::defects, new class number)
  std::vector<ClassEntry> added;                    // appended to the (first) ClassLookup
};

// 1.2 entries are written `NUMBER "NAME"`; 1.8 rows fill CLASSNUMBER and CLASSNAME, "" in other string
// columns, 0 in numeric ones, N in embedded lists. A file without a ClassLookup gets one (1.2: before
// the first WaferID; 1.8: a ClassLookupList at the end of the first LotRecord). Each updated defect gets
// the number in CLASSNUMBER and, where the reader located one, in the auto-classification column.
// false + err (one line) when an update names a defect out of range, twice, or without a CLASSNUMBER
// column, or the ClassLookup would exceed kMaxClasses.
bool write_klarf(const Document& doc, const ClassUpdate& update, std::string& out, std::string& err);

// A name as a KLARF quoted string; `"` and control bytes become '_'.
std::string quote_name(std::string_view name);

}  // namespace triage::klarf
