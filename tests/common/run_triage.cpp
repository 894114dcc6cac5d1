#include "tests/common/run_triage.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef TRIAGE_CLI_PATH
#error "TRIAGE_CLI_PATH must name the built triage binary"
#endif

namespace triage::test {

CliResult run_triage(const std::vector<std::string>& args) {
  CliResult r;
  // stderr goes to its own temporary file: popen only pipes stdout.
  std::string err_path = (std::filesystem::temp_directory_path() / "triage_stderr_XXXXXX").string();
  const int fd = ::mkstemp(err_path.data());
  if (fd < 0) return r;
  ::close(fd);
  std::string cmd = "'" TRIAGE_CLI_PATH "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>'" + err_path + "'";
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream in(err_path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
  }
  std::remove(err_path.c_str());
  return r;
}

}  // namespace triage::test
