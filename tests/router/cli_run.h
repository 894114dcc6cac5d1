// Helpers of the router tests: a temporary folder, text files, converting a shipped model once per
// test process (with tests/common/run_triage.h).
#pragma once

#include <string>
#include <vector>

#include "tests/common/run_triage.h"

namespace triage::test {

struct TmpDir {
  std::string path;
  TmpDir();
  ~TmpDir();
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

std::string source_dir();
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// models/<name> converted with `triage convert` into a per-process temp folder ("" when the model
// folder is absent, i.e. training has not shipped it).
std::string converted_model(const std::string& name, const std::string& dtype);

}  // namespace triage::test
