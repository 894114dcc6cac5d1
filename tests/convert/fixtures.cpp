#include "tests/convert/fixtures.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

namespace triage::test {
namespace {

using Shapes = std::vector<std::pair<std::string, std::vector<uint64_t>>>;

void add_blocks(Shapes& s, uint64_t d, uint64_t h, int depth) {
  for (int i = 0; i < depth; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    s.push_back({b + "norm1.weight", {d}});
    s.push_back({b + "norm1.bias", {d}});
    s.push_back({b + "attn.qkv.weight", {3 * d, d}});
    s.push_back({b + "attn.qkv.bias", {3 * d}});
    s.push_back({b + "attn.proj.weight", {d, d}});
    s.push_back({b + "attn.proj.bias", {d}});
    s.push_back({b + "norm2.weight", {d}});
    s.push_back({b + "norm2.bias", {d}});
    s.push_back({b + "mlp.fc1.weight", {h, d}});
    s.push_back({b + "mlp.fc1.bias", {h}});
    s.push_back({b + "mlp.fc2.weight", {d, h}});
    s.push_back({b + "mlp.fc2.bias", {d}});
  }
}

uint64_t numel(const std::vector<uint64_t>& s) {
  uint64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

void fill(TinyModel& m, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> w(-0.5f, 0.5f), var(0.5f, 1.5f);
  for (const auto& [name, shape] : m.shapes) {
    std::vector<float> v(numel(shape));
    const bool is_var = name.find("running_var") != std::string::npos;
    for (auto& x : v) x = is_var ? var(rng) : w(rng);
    m.weights[name] = std::move(v);
  }
}

}  // namespace

TinyModel tiny_cfvit(uint32_t seed) {
  TinyModel m;
  m.config = {
      {"format", "triage-checkpoint-config"},
      {"format_version", 1},
      {"model_name", "tiny-cfvit"},
      {"arch",
       {{"name", "cfvit"}, {"in_chans", 1}, {"img_full", 32}, {"img_coarse", 16}, {"patch", 8},
        {"stem_channels", {4, 8}}, {"dim", 32}, {"heads", 2}, {"depth", 2}, {"mlp_ratio", 4},
        {"reuse_hidden", 16}, {"topk", 2}, {"rank_layers", 1}, {"ln_eps", 1e-6}, {"bn_eps", 1e-5}}},
      {"labels", {"good", "particle", "scratch"}},
      {"good_label", "good"},
      {"input", {{"channels", 1}, {"max_value_u8", 255}, {"max_value_u16", 65535}, {"mean", 0.5}, {"std", 0.25}}}};
  Shapes& s = m.shapes;
  s.push_back({"stem.0.conv.weight", {4, 1, 3, 3}});
  for (const char* bn : {"weight", "bias", "running_mean", "running_var"})
    s.push_back({std::string("stem.0.bn.") + bn, {4}});
  s.push_back({"stem.1.conv.weight", {8, 4, 3, 3}});
  for (const char* bn : {"weight", "bias", "running_mean", "running_var"})
    s.push_back({std::string("stem.1.bn.") + bn, {8}});
  s.push_back({"patch.weight", {32, 8, 2, 2}});
  s.push_back({"patch.bias", {32}});
  s.push_back({"cls_token", {1, 1, 32}});
  s.push_back({"pos_coarse", {1, 5, 32}});
  s.push_back({"pos_fine", {1, 17, 32}});
  add_blocks(s, 32, 128, 2);
  s.push_back({"norm.weight", {32}});
  s.push_back({"norm.bias", {32}});
  s.push_back({"head.weight", {3, 32}});
  s.push_back({"head.bias", {3}});
  s.push_back({"reuse.norm.weight", {32}});
  s.push_back({"reuse.norm.bias", {32}});
  s.push_back({"reuse.fc1.weight", {16, 32}});
  s.push_back({"reuse.fc1.bias", {16}});
  s.push_back({"reuse.fc2.weight", {32, 16}});
  s.push_back({"reuse.fc2.bias", {32}});
  fill(m, seed);
  auto& head = m.weights["head.weight"];
  std::fill(head.begin() + 32, head.begin() + 64, 0.0f);
  return m;
}

TinyModel tiny_vit(uint32_t seed) {
  TinyModel m;
  m.config = {{"format", "triage-checkpoint-config"},
              {"format_version", 1},
              {"model_name", "tiny-vit"},
              {"arch",
               {{"name", "vit"}, {"in_chans", 3}, {"img_full", 32}, {"patch", 8}, {"dim", 24}, {"heads", 3},
                {"depth", 2}, {"mlp_ratio", 4.0}, {"ln_eps", 1e-6}}},
              {"labels", {"ok", "a", "b", "c"}},
              {"good_label", "ok"},
              {"input", {{"channels", 3}, {"max_value_u8", 255}, {"max_value_u16", 65535}, {"mean", 0.45}, {"std", 0.22}}}};
  Shapes& s = m.shapes;
  s.push_back({"patch_embed.proj.weight", {24, 3, 8, 8}});
  s.push_back({"patch_embed.proj.bias", {24}});
  s.push_back({"cls_token", {1, 1, 24}});
  s.push_back({"pos_embed", {1, 17, 24}});
  add_blocks(s, 24, 96, 2);
  s.push_back({"norm.weight", {24}});
  s.push_back({"norm.bias", {24}});
  s.push_back({"head.weight", {4, 24}});
  s.push_back({"head.bias", {4}});
  fill(m, seed);
  return m;
}

std::vector<StEntry> entries(const TinyModel& m, bool with_counters) {
  std::vector<StEntry> out;
  for (const auto& [name, shape] : m.shapes) out.push_back(f32_entry(name, shape, m.weights.at(name)));
  if (with_counters && m.config["arch"]["name"] == "cfvit")
    for (const char* j : {"0", "1"}) {
      StEntry e{std::string("stem.") + j + ".bn.num_batches_tracked", "I64", {}, std::vector<uint8_t>(8, 0)};
      e.bytes[0] = 100;
      out.push_back(std::move(e));
    }
  return out;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "triage_convert_test.XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string write_model(const TempDir& dir, const TinyModel& m, bool with_counters) {
  const std::string ckpt = dir.path("model.safetensors");
  write_bytes(ckpt, make_safetensors(entries(m, with_counters)));
  write_text(dir.path("config.json"), m.config.dump(2));
  return ckpt;
}

}  // namespace triage::test
