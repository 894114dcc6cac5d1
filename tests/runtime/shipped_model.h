// Access to a shipped model (models/<name>): its directory, the converted .trw files of the test
// fixture, the goldens and the sample images.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/runtime/safetensors_lite.h"
#include "tests/runtime/test_util.h"
#include "tools/cli/image_io.h"

namespace triage::test {

struct ShippedModel {
  std::string name, dir;

  // Models are optional until training has shipped them; the .trw files come from the ctest fixture
  // (runtime_convert_<name>_<dtype>), or from TRIAGE_TEST_MODELS_DIR when set.
  bool present() const { return std::filesystem::is_directory(dir); }
  std::string trw(const std::string& dtype) const {
    const char* env = std::getenv("TRIAGE_TEST_MODELS_DIR");
    return (env ? std::string(env) : binary_dir() + "/models") + "/" + name + "." + dtype + ".trw";
  }
  std::vector<uint8_t> read_trw(const std::string& dtype) const {
    std::ifstream in(trw(dtype), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // Paths listed in the goldens' metadata, resolved against the model dir (then the repo root).
  std::vector<std::string> golden_paths(const Safetensors& g) const {
    std::vector<std::string> out;
    auto it = g.metadata.find("paths");
    if (it == g.metadata.end()) return out;
    const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
    if (!j.is_array()) return out;
    for (const auto& p : j) {
      const std::string s = p.get<std::string>();
      if (std::filesystem::path(s).is_absolute()) out.push_back(s);
      else if (std::filesystem::exists(dir + "/" + s)) out.push_back(dir + "/" + s);
      else out.push_back(source_dir() + "/" + s);
    }
    return out;
  }
  // Every image file under the model dir (samples), sorted.
  std::vector<std::string> sample_paths() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
      if (e.is_regular_file() && cli::is_image_name(e.path().string())) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

inline ShippedModel shipped(const std::string& name) {
  const char* env = std::getenv("TRIAGE_TEST_MODEL_SRC");  // dev override: a model dir outside models/
  return {name, env ? std::string(env) : source_dir() + "/models/" + name};
}

}  // namespace triage::test
