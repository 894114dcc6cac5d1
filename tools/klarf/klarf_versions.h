// The two grammars behind read_klarf (klarf_reader.h): each fills doc (whose text is already checked
// for size, line length and NUL bytes) from its first token on. Internal to tools/klarf.
#pragma once

#include <string>

#include "tools/klarf/klarf_document.h"
#include "tools/klarf/klarf_reader.h"

namespace triage::klarf {

bool read_v12(Document& doc, const ReadOptions& opt, std::string& err);  // klarf_reader_v12.cpp
bool read_v18(Document& doc, const ReadOptions& opt, std::string& err);  // klarf_reader_v18.cpp

// The leading blanks of the line holding byte `at`, when only blanks precede it there; else fallback.
std::string indent_of(const std::string& text, size_t at, const std::string& fallback);

}  // namespace triage::klarf
