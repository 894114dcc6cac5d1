#include "tools/convert/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "tools/convert/file_io.h"
#include "tools/convert/json_strict.h"
#include "tools/convert/sha256.h"

namespace triage::convert {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Shard names must be plain file names in the index's directory: no separators, no "..".
bool plain_file_name(const std::string& s) {
  return !s.empty() && s.size() <= 255 && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

bool load_single(const std::string& path, Checkpoint& out, Error& err) {
  std::vector<uint8_t> bytes;
  if (!read_file_bytes(path, kStMaxFileBytes, bytes, err)) return false;
  StFile f;
  if (!parse_safetensors(bytes, path, f, err)) return false;
  out.sha256 = sha256_hex(bytes);
  out.files = {path};
  out.tensors = std::move(f.tensors);
  out.shard_bytes.push_back(std::move(bytes));  // moving a vector keeps its buffer: spans stay valid
  return true;
}

bool load_sharded(const std::string& index_path, Checkpoint& out, Error& err) {
  std::vector<uint8_t> text;
  if (!read_file_bytes(index_path, kMaxIndexBytes, text, err)) return false;
  json root;
  JsonLimits limits{4, 4ull * kStMaxTensors + 4096};
  std::string_view sv(reinterpret_cast<const char*>(text.data()), text.size());
  if (!parse_json_strict(sv, limits, index_path, 0, root, err)) return false;
  if (!root.is_object() || !root.contains("weight_map") || !root["weight_map"].is_object())
    return fail(err, Errc::Format, index_path + ": not a safetensors index (needs a \"weight_map\" object)");
  const json& wm = root["weight_map"];
  if (wm.size() > kStMaxTensors)
    return fail(err, Errc::Format, index_path + ": weight_map lists " + std::to_string(wm.size()) +
                                       " tensors, above the cap of " + std::to_string(kStMaxTensors));
  std::map<std::string, std::string> shard_of;  // tensor -> shard
  std::set<std::string> shards;
  for (auto it = wm.begin(); it != wm.end(); ++it) {
    if (!it.value().is_string() || !plain_file_name(it.value().get<std::string>()))
      return fail(err, Errc::Format, index_path + ": weight_map entry " + quote_name(it.key()) +
                                         " must name a shard file in the index's directory");
    shard_of[it.key()] = it.value().get<std::string>();
    shards.insert(it.value().get<std::string>());
  }
  if (shards.empty()) return fail(err, Errc::Format, index_path + ": weight_map is empty");
  if (shards.size() > kMaxShards)
    return fail(err, Errc::Format, index_path + ": " + std::to_string(shards.size()) +
                                       " shards, above the cap of " + std::to_string(kMaxShards));

  const fs::path dir = fs::path(index_path).parent_path();
  Sha256 hash;
  std::map<std::string, std::string> seen_in;  // tensor -> shard it was found in
  out.files = {index_path};
  for (const std::string& shard : shards) {  // std::set: sorted shard-name order
    const std::string shard_path = (dir / shard).string();
    std::vector<uint8_t> bytes;
    if (!read_file_bytes(shard_path, kStMaxFileBytes, bytes, err)) return false;
    StFile f;
    if (!parse_safetensors(bytes, shard_path, f, err)) return false;
    if (out.tensors.size() + f.tensors.size() > kStMaxTensors)
      return fail(err, Errc::Format, index_path + ": shards hold more than " + std::to_string(kStMaxTensors) +
                                         " tensors");
    for (auto& t : f.tensors) {
      auto [pos, inserted] = seen_in.emplace(t.name, shard);
      if (!inserted)
        return fail(err, Errc::Format, shard_path + ": tensor " + quote_name(t.name) + " at byte " +
                                           std::to_string(t.file_offset) + " is also in shard " +
                                           quote_name(pos->second), t.file_offset);
      auto m = shard_of.find(t.name);
      if (m == shard_of.end())
        return fail(err, Errc::Format, shard_path + ": tensor " + quote_name(t.name) + " at byte " +
                                           std::to_string(t.file_offset) + " is not in the index's weight_map",
                    t.file_offset);
      if (m->second != shard)
        return fail(err, Errc::Format, index_path + ": weight_map puts " + quote_name(t.name) + " in " +
                                           quote_name(m->second) + " but it is in " + quote_name(shard));
      out.tensors.push_back(std::move(t));
    }
    hash.update(bytes);
    out.files.push_back(shard_path);
    out.shard_bytes.push_back(std::move(bytes));
  }
  for (const auto& [name, shard] : shard_of)
    if (!seen_in.count(name))
      return fail(err, Errc::Format, index_path + ": weight_map lists " + quote_name(name) + " in " + quote_name(shard) +
                                         " but that shard does not hold it");
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const StTensor& a, const StTensor& b) { return a.name < b.name; });
  auto digest = hash.finish();
  out.sha256 = to_hex(digest);
  return true;
}

}  // namespace

const StTensor* Checkpoint::find(const std::string& name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const StTensor& t, const std::string& n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

std::string resolve_checkpoint_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const char* name : {"model.safetensors", "model.safetensors.index.json"}) {
      fs::path p = fs::path(path) / name;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
    return "";
  }
  return path;
}

bool load_checkpoint(const std::string& path, Checkpoint& out, Error& err) {
  out = Checkpoint{};
  const std::string file = resolve_checkpoint_path(path);
  if (file.empty())
    return fail(err, Errc::Io, path + ": directory holds neither model.safetensors nor "
                                      "model.safetensors.index.json");
  if (ends_with(file, ".json")) return load_sharded(file, out, err);
  return load_single(file, out, err);
}

}  // namespace triage::convert
