// Helpers of the KLARF tests: the fixture files, reading and writing bytes, a fresh temp folder.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace triage::klarf::test {

inline std::string fixture_dir() { return KLARF_FIXTURES; }
inline std::string fixture(const std::string& name) { return fixture_dir() + "/" + name; }

// The good fixtures (every one must read and round-trip) and the malformed ones.
inline const std::vector<std::string>& good_fixtures() {
  static const std::vector<std::string> v = {"klarf12DefectListExample.klarf", "klarf12Example.klarf", "klarfWithImagelist.klarf",
                                             "simple12.klarf", "simple18.klarf", "wierdKlarfWithNAs.klarf"};
  return v;
}
inline const std::vector<std::string>& bad_fixtures() {
  static const std::vector<std::string> v = {"bad12.klarf", "bad12DefectList.klarf"};
  return v;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Replaces the one occurrence of `from` in s (the test fails on the marker count elsewhere).
inline std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  if (at == std::string::npos || s.find(from, at + 1) != std::string::npos) return "<" + from + " not found once>";
  return s.replace(at, from.size(), to);
}

// A new empty folder under the temp dir, removed by the destructor.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "triage_klarf_XXXXXX").string();
    path = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  // Names of the entries in the folder, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> v;
    for (const auto& e : std::filesystem::directory_iterator(path)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
};

}  // namespace triage::klarf::test
