// safetensors: u64 little-endian header length, JSON header {name: {dtype, shape, data_offsets}},
// then the data.
#include "tests/runtime/safetensors_lite.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace triage::test {

bool Safetensors::read(const std::string& path, std::string& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = "cannot open " + path;
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) {
    err = "truncated";
    return false;
  }
  uint64_t hlen = 0;
  std::memcpy(&hlen, bytes.data(), 8);
  if (hlen > bytes.size() - 8) {
    err = "bad header length";
    return false;
  }
  nlohmann::json h = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(hlen), nullptr, false);
  if (h.is_discarded() || !h.is_object()) {
    err = "bad header JSON";
    return false;
  }
  const char* data = bytes.data() + 8 + hlen;
  const size_t data_size = bytes.size() - 8 - hlen;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      for (auto m = it.value().begin(); m != it.value().end(); ++m)
        metadata[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
      continue;
    }
    StTensor t;
    t.dtype = it.value().at("dtype").get<std::string>();
    t.shape = it.value().at("shape").get<std::vector<int64_t>>();
    const auto off = it.value().at("data_offsets").get<std::vector<uint64_t>>();
    if (off.size() != 2 || off[0] > off[1] || off[1] > data_size) {
      err = "bad data_offsets for " + it.key();
      return false;
    }
    const char* p = data + off[0];
    const size_t nb = off[1] - off[0];
    if (t.dtype == "F32") {
      t.f.resize(nb / 4);
      std::memcpy(t.f.data(), p, t.f.size() * 4);
    } else if (t.dtype == "F64") {
      std::vector<double> d(nb / 8);
      std::memcpy(d.data(), p, d.size() * 8);
      t.f.assign(d.begin(), d.end());
    } else if (t.dtype == "I64") {
      t.i.resize(nb / 8);
      std::memcpy(t.i.data(), p, t.i.size() * 8);
    } else if (t.dtype == "I32") {
      std::vector<int32_t> d(nb / 4);
      std::memcpy(d.data(), p, d.size() * 4);
      t.i.assign(d.begin(), d.end());
    } else {
      err = "unsupported dtype " + t.dtype + " for " + it.key();
      return false;
    }
    tensors[it.key()] = std::move(t);
  }
  return true;
}

}  // namespace triage::test
