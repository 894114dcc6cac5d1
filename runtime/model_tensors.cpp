// Tensor binding: a model file is accepted only when every expected tensor is present with an accepted
// dtype and exactly the shape the hyperparameters imply, so the forward passes never see a surprise.
#include "runtime/model_tensors.h"

#include <cstdio>
#include <cstring>
#include <initializer_list>

namespace triage::rt {
namespace {

struct Binder {
  const trw::File& f;
  Error& err;

  bool get(const char* name, std::initializer_list<uint64_t> shape, Tensor& out) {
    const trw::TensorView* t = f.find_tensor(name);
    if (!t) return err.set(TRIAGE_E_FORMAT, "tensor '%s' is missing", name);
    bool same = t->rank == shape.size();
    size_t i = 0;
    for (uint64_t d : shape) same = same && t->dims[i++] == d;
    if (!same) {
      char want[128] = {}, got[128] = {};
      size_t n = 0;
      for (uint64_t d : shape) n += std::snprintf(want + n, sizeof(want) - n, n ? ",%llu" : "%llu", (unsigned long long)d);
      n = 0;
      for (uint32_t k = 0; k < t->rank && k < trw::kMaxRank; ++k)
        n += std::snprintf(got + n, sizeof(got) - n, k ? ",%llu" : "%llu", (unsigned long long)t->dims[k]);
      return err.set(TRIAGE_E_FORMAT, "tensor '%s' has shape [%s], expected [%s]", name, got, want);
    }
    switch (t->dtype) {
      case trw::DType::F32: case trw::DType::F16: case trw::DType::BF16: break;
      case trw::DType::Q8:
        if (t->rank < 2 || !t->scales)
          return err.set(TRIAGE_E_FORMAT, "tensor '%s' is q8 but not a matrix with per-row scales", name);
        break;
      default:
        return err.set(TRIAGE_E_UNSUPPORTED, "tensor '%s' has an unsupported dtype id %u", name,
                       static_cast<unsigned>(t->dtype));
    }
    out = t;
    return true;
  }
  // "<prefix>.<suffix>" in a fixed buffer (names are short: "blocks.63.attn.proj.weight").
  const char* name(const char* prefix, const char* suffix) {
    std::snprintf(buf, sizeof buf, "%s.%s", prefix, suffix);
    return buf;
  }
  bool linear(const char* prefix, uint64_t out_dim, uint64_t in_dim, LinearTensors& l) {
    return get(name(prefix, "weight"), {out_dim, in_dim}, l.w) && get(name(prefix, "bias"), {out_dim}, l.b);
  }
  bool norm(const char* prefix, uint64_t d, Tensor& w, Tensor& b) {
    return get(name(prefix, "weight"), {d}, w) && get(name(prefix, "bias"), {d}, b);
  }
  char buf[96] = {};
};

}  // namespace

bool bind_tensors(const trw::File& file, const ModelConfig& c, ModelTensors& m, Error& err, Region* from) {
  Binder b{file, err};
  m = ModelTensors{};
  const uint64_t D = c.D;
  if (c.arch == Arch::CfVit) {
    if (!b.get("stem.0.weight", {uint64_t(c.c1), uint64_t(c.C), 3, 3}, m.stem0_w) ||
        !b.get("stem.0.bias", {uint64_t(c.c1)}, m.stem0_b) ||
        !b.get("stem.1.weight", {uint64_t(c.c2), uint64_t(c.c1), 3, 3}, m.stem1_w) ||
        !b.get("stem.1.bias", {uint64_t(c.c2)}, m.stem1_b) ||
        !b.get("patch.weight", {D, uint64_t(c.c2), uint64_t(c.p), uint64_t(c.p)}, m.patch_w) ||
        !b.get("patch.bias", {D}, m.patch_b) || !b.get("cls_token", {1, 1, D}, m.cls) ||
        !b.get("pos_coarse", {1, uint64_t(1 + c.Gc), D}, m.pos_coarse) ||
        !b.get("pos_fine", {1, uint64_t(1 + c.Gf), D}, m.pos_fine) ||
        !b.norm("reuse.norm", D, m.reuse_norm_w, m.reuse_norm_b) ||
        !b.linear("reuse.fc1", uint64_t(c.Dr), D, m.reuse_fc1) || !b.linear("reuse.fc2", D, uint64_t(c.Dr), m.reuse_fc2))
      return false;
  } else {
    if (!b.get("patch_embed.proj.weight", {D, uint64_t(c.C), uint64_t(c.P), uint64_t(c.P)}, m.patch_w) ||
        !b.get("patch_embed.proj.bias", {D}, m.patch_b) || !b.get("cls_token", {1, 1, D}, m.cls) ||
        !b.get("pos_embed", {1, uint64_t(1 + c.Gf), D}, m.pos_fine))
      return false;
  }
  if (!m.blocks.resize(static_cast<size_t>(c.L), from)) return err.set(TRIAGE_E_NOMEM, "cannot allocate %d block records", c.L);
  for (int i = 0; i < c.L; ++i) {
    char p[6][48];
    const char* part[6] = {"norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"};
    for (int j = 0; j < 6; ++j) std::snprintf(p[j], sizeof p[j], "blocks.%d.%s", i, part[j]);
    BlockTensors& k = m.blocks[static_cast<size_t>(i)];
    if (!b.norm(p[0], D, k.ln1_w, k.ln1_b) || !b.linear(p[1], 3 * D, D, k.qkv) || !b.linear(p[2], D, D, k.proj) ||
        !b.norm(p[3], D, k.ln2_w, k.ln2_b) || !b.linear(p[4], uint64_t(c.hidden), D, k.fc1) ||
        !b.linear(p[5], D, uint64_t(c.hidden), k.fc2))
      return false;
  }
  return b.norm("norm", D, m.norm_w, m.norm_b) && b.linear("head", uint64_t(c.ncls()), D, m.head);
}

void tensor_to_f32(const trw::TensorView& t, float* out) {
  const uint64_t n = t.numel;
  switch (t.dtype) {
    case trw::DType::F32:
      std::memcpy(out, t.data, n * sizeof(float));
      break;
    case trw::DType::F16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = trw::f16_to_f32(h);
      }
      break;
    case trw::DType::BF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = trw::bf16_to_f32(h);
      }
      break;
    case trw::DType::Q8: {
      const uint64_t rows = t.dims[0], cols = rows ? n / rows : 0;
      const int8_t* q = reinterpret_cast<const int8_t*>(t.data);
      for (uint64_t r = 0; r < rows; ++r) {
        float s;
        std::memcpy(&s, t.scales + r, sizeof(float));
        for (uint64_t j = 0; j < cols; ++j) out[r * cols + j] = static_cast<float>(q[r * cols + j]) * s;
      }
      break;
    }
  }
}

std::vector<float> tensor_to_f32(const trw::TensorView& t) {
  std::vector<float> v(t.numel);
  tensor_to_f32(t, v.data());
  return v;
}

}  // namespace triage::rt
