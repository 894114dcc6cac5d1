#include "tests/router/cli_run.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace triage::test {

TmpDir::TmpDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "triage_router_XXXXXX").string();
  path = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
}

TmpDir::~TmpDir() {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove_all(path, ec);
}

std::string source_dir() { return TRIAGE_SOURCE_DIR; }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string converted_model(const std::string& name, const std::string& dtype) {
  static TmpDir dir;
  static std::map<std::string, std::string> done;
  const std::string key = name + "." + dtype;
  if (done.count(key)) return done[key];
  const std::string src = source_dir() + "/models/" + name;
  if (!std::filesystem::exists(src + "/model.safetensors")) return done[key] = "";
  const std::string out = dir / (key + ".trw");
  const CliResult r = run_triage({"convert", src, "--dtype", dtype, "-o", out, "--quiet"});
  return done[key] = r.status == 0 ? out : "";
}

}  // namespace triage::test
