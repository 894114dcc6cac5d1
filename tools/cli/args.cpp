#include "tools/cli/args.h"

namespace triage::cli {

bool parse_args(int argc, char** argv, const std::vector<OptSpec>& specs, Args& out, std::string& error) {
  out = Args{};
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (a.rfind("--", 0) == 0) {
      size_t eq = a.find('=');
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        inline_value = true;
      }
    }
    const OptSpec* spec = nullptr;
    for (const auto& s : specs)
      if (a == s.name || (s.alias && a == s.alias)) spec = &s;
    if (!spec) {
      error = "unknown option " + a;
      return false;
    }
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= argc) {
        error = std::string(spec->name) + " needs a value";
        return false;
      }
      value = argv[++i];
    } else if (!spec->takes_value && inline_value) {
      error = std::string(spec->name) + " takes no value";
      return false;
    }
    if (!out.values.emplace(spec->name, value).second) {
      error = std::string(spec->name) + " given twice";
      return false;
    }
  }
  return true;
}

}  // namespace triage::cli
