#include "tools/convert/expected_tensors.h"

#include <set>

namespace triage::convert {
namespace {

std::string shape_str(const std::vector<uint64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

void add_blocks(const ArchConfig& a, std::vector<ExpectedTensor>& out) {
  const uint64_t d = a.dim, h = a.mlp_hidden();
  for (int64_t i = 0; i < a.depth; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    out.push_back({b + "norm1.weight", {d}});
    out.push_back({b + "norm1.bias", {d}});
    out.push_back({b + "attn.qkv.weight", {3 * d, d}});
    out.push_back({b + "attn.qkv.bias", {3 * d}});
    out.push_back({b + "attn.proj.weight", {d, d}});
    out.push_back({b + "attn.proj.bias", {d}});
    out.push_back({b + "norm2.weight", {d}});
    out.push_back({b + "norm2.bias", {d}});
    out.push_back({b + "mlp.fc1.weight", {h, d}});
    out.push_back({b + "mlp.fc1.bias", {h}});
    out.push_back({b + "mlp.fc2.weight", {d, h}});
    out.push_back({b + "mlp.fc2.bias", {d}});
  }
}

void add_norm_head(const ModelConfig& cfg, std::vector<ExpectedTensor>& out) {
  const uint64_t d = cfg.arch.dim, n = cfg.labels.size();
  out.push_back({"norm.weight", {d}});
  out.push_back({"norm.bias", {d}});
  out.push_back({"head.weight", {n, d}});
  out.push_back({"head.bias", {n}});
}

}  // namespace

std::vector<ExpectedTensor> expected_checkpoint_tensors(const ModelConfig& cfg) {
  const ArchConfig& a = cfg.arch;
  const uint64_t d = a.dim, c = a.in_chans;
  std::vector<ExpectedTensor> out;
  if (a.arch == Arch::Vit) {
    const uint64_t p = a.patch;
    out.push_back({"patch_embed.proj.weight", {d, c, p, p}});
    out.push_back({"patch_embed.proj.bias", {d}});
    out.push_back({"cls_token", {1, 1, d}});
    out.push_back({"pos_embed", {1, 1 + uint64_t(a.grid_full()), d}});
    add_blocks(a, out);
    add_norm_head(cfg, out);
    return out;
  }
  uint64_t in = c;
  for (size_t j = 0; j < a.stem_channels.size(); ++j) {
    const uint64_t o = a.stem_channels[j];
    const std::string s = "stem." + std::to_string(j) + ".";
    out.push_back({s + "conv.weight", {o, in, 3, 3}});
    for (const char* bn : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"})
      out.push_back({s + bn, {o}});
    in = o;
  }
  const uint64_t p = a.stem_patch();
  out.push_back({"patch.weight", {d, in, p, p}});
  out.push_back({"patch.bias", {d}});
  out.push_back({"cls_token", {1, 1, d}});
  out.push_back({"pos_coarse", {1, 1 + uint64_t(a.grid_coarse()), d}});
  out.push_back({"pos_fine", {1, 1 + uint64_t(a.grid_full()), d}});
  add_blocks(a, out);
  add_norm_head(cfg, out);
  const uint64_t r = a.reuse_hidden;
  out.push_back({"reuse.norm.weight", {d}});
  out.push_back({"reuse.norm.bias", {d}});
  out.push_back({"reuse.fc1.weight", {r, d}});
  out.push_back({"reuse.fc1.bias", {r}});
  out.push_back({"reuse.fc2.weight", {d, r}});
  out.push_back({"reuse.fc2.bias", {d}});
  return out;
}

bool is_ignored_tensor(const std::string& name) {
  static const std::string kSuffix = ".num_batches_tracked";
  return name == "num_batches_tracked" ||
         (name.size() > kSuffix.size() && name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0);
}

bool check_tensor_set(const ModelConfig& cfg, const Checkpoint& ckpt, Error& err) {
  const auto expected = expected_checkpoint_tensors(cfg);
  std::set<std::string> expected_names;
  std::string missing, shapes;
  size_t n_missing = 0, n_shapes = 0;
  for (const auto& e : expected) {
    expected_names.insert(e.name);
    const StTensor* t = ckpt.find(e.name);
    if (!t) {
      missing += (n_missing++ ? ", " : "") + e.name;
    } else if (t->shape != e.shape) {
      shapes += std::string(n_shapes++ ? ", " : "") + quote_name(e.name) + " is " + shape_str(t->shape) +
                " not " + shape_str(e.shape);
    }
  }
  std::string unexpected;
  size_t n_unexpected = 0;
  for (const auto& t : ckpt.tensors)
    if (!expected_names.count(t.name) && !is_ignored_tensor(t.name))
      unexpected += std::string(n_unexpected++ ? ", " : "") + quote_name(t.name);
  if (n_missing || n_unexpected || n_shapes) {
    std::string msg = "checkpoint does not match arch " + cfg.arch.name + ":";
    auto part = [&msg](size_t n, const char* what, const std::string& list) {
      if (!n) return;
      msg.append(" ").append(std::to_string(n)).append(what).append(list).append(";");
    };
    part(n_missing, " missing tensors: ", missing);
    part(n_unexpected, " unexpected tensors: ", unexpected);
    part(n_shapes, " wrong shapes: ", shapes);
    msg.pop_back();
    return fail(err, Errc::Tensors, msg);
  }
  for (const auto& e : expected) {
    const StTensor* t = ckpt.find(e.name);
    if (!st_dtype_is_float(t->dtype))
      return fail(err, Errc::Unsupported,
                  "tensor " + quote_name(t->name) + " at byte " + std::to_string(t->file_offset) + " has dtype " +
                      st_dtype_name(t->dtype) + "; weights must be F32, F16, BF16 or F64",
                  t->file_offset);
  }
  return true;
}

}  // namespace triage::convert
