#include "tests/convert/st_writer.h"

#include <cstring>

namespace triage::test {

StEntry f32_entry(const std::string& name, const std::vector<uint64_t>& shape, const std::vector<float>& v) {
  StEntry e{name, "F32", shape, std::vector<uint8_t>(v.size() * 4)};
  if (!v.empty()) std::memcpy(e.bytes.data(), v.data(), v.size() * 4);
  return e;
}

std::vector<uint8_t> make_safetensors(const std::vector<StEntry>& tensors,
                                      const std::map<std::string, std::string>& metadata) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool f = true;
    for (const auto& [k, v] : metadata) {
      h += (f ? "\"" : ",\"") + k + "\":\"" + v + "\"";
      f = false;
    }
    h += "}";
    first = false;
  }
  std::vector<uint8_t> data;
  for (const auto& t : tensors) {
    h += first ? "\"" : ",\"";
    first = false;
    h += t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i) h += ',';
      h += std::to_string(t.shape[i]);
    }
    h += "],\"data_offsets\":[" + std::to_string(data.size()) + "," + std::to_string(data.size() + t.bytes.size()) +
         "]}";
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
  }
  h += "}";
  while (h.size() % 8) h += ' ';
  return raw_safetensors(h, data);
}

std::vector<uint8_t> raw_safetensors(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(n >> (8 * i));
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

}  // namespace triage::test
