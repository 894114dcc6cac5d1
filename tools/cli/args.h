// Minimal option parsing shared by the subcommands: `--name value`, `--name=value`, flags, short
// aliases (-o), positionals, and `--` to end options. Unknown or repeated options are errors.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace triage::cli {

struct OptSpec {
  const char* name;   // "--output"
  const char* alias;  // "-o" or nullptr
  bool takes_value;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // by long name; flags map to ""
  bool has(const std::string& name) const { return values.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = {}) const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

// Parses argv[1..argc-1]. On failure returns false and sets error to a one-line reason.
bool parse_args(int argc, char** argv, const std::vector<OptSpec>& specs, Args& out, std::string& error);

}  // namespace triage::cli
