// Which KLARF class number each of a model's classes is written as, and which entries that adds to
// the file's ClassLookup.
//   With a class map (CSV lines `class_name,number`; an optional first line `class_name,number`, blank
//   lines and lines starting with '#' skipped): every model class must be named, each once, and every
//   name must be a model class; several classes may share a number. A number the ClassLookup lacks is
//   added, named after the first model class mapped to it.
//   Without: a model class whose name the ClassLookup already has (ASCII case-insensitive) keeps that
//   entry's number; the others are numbered in model order from one above the highest number in the
//   ClassLookup (from 1 when it is empty or holds only numbers <= 0), and added.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tools/klarf/klarf_document.h"

namespace triage::klarf {

using ClassMap = std::vector<std::pair<std::string, int32_t>>;  // (class name, number), file order

struct ClassNumbering {
  std::vector<int32_t> numbers;   // per model class
  std::vector<ClassEntry> added;  // new ClassLookup entries, ascending model order
};

// Reads a class-map CSV (at most 1 MiB). false + err ("line N: why"; not naming the file).
bool read_class_map(const std::string& path, ClassMap& out, std::string& err);

// map == nullptr: the default rule. false + err (one line) on a map that misses a model class, names a
// class twice or one the model lacks, or when the default numbering would pass INT32_MAX.
bool number_classes(const std::vector<std::string>& model_classes, const std::vector<ClassEntry>& lookup, const ClassMap* map,
                    ClassNumbering& out, std::string& err);

}  // namespace triage::klarf
