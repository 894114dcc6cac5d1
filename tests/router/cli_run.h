// Helpers of the router tests: a temporary folder, running the built `triage` program, converting a
// shipped model once per test process.
#pragma once

#include <string>
#include <vector>

namespace triage::test {

struct TmpDir {
  std::string path;
  TmpDir();
  ~TmpDir();
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

struct CliResult {
  int status = -1;
  std::string out, err;
};

// Runs TRIAGE_CLI_PATH with args (each single-quoted), stdout and stderr captured separately.
CliResult run_triage(const std::vector<std::string>& args);

std::string source_dir();
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// models/<name> converted with `triage convert` into a per-process temp folder ("" when the model
// folder is absent, i.e. training has not shipped it).
std::string converted_model(const std::string& name, const std::string& dtype);

}  // namespace triage::test
