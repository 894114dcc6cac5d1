// Runs the built `triage` program from a test: the one place tests start it as a subprocess.
// The including test target defines TRIAGE_CLI_PATH (its build path) and compiles run_triage.cpp.
#pragma once

#include <string>
#include <vector>

namespace triage::test {

struct CliResult {
  int status = -1;  // exit status; -1 when it could not start or did not exit normally
  std::string out, err;
};

// Runs TRIAGE_CLI_PATH with args (each single-quoted), stdout and stderr captured separately.
CliResult run_triage(const std::vector<std::string>& args);

}  // namespace triage::test
