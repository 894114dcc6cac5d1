// Weight packing at load. Runs the same walk twice: once to size the single allocation, once to fill
// it, so the layout is computed in exactly one place.
#include "runtime/packed_model.h"

#include <algorithm>
#include <cstring>

#include "runtime/checked.h"

namespace triage::rt {
namespace {

namespace k = triage::kernels;

class Packer {
 public:
  // base null: the sizing walk (offsets and the conversion buffer's size, nothing written); else the
  // fill walk, converting through tmp (at least tmp_floats() floats).
  Packer(const ModelConfig& cfg, k::Isa isa, unsigned char* base, float* tmp)
      : cfg_(cfg), isa_(isa), base_(base), tmp_(tmp) {}

  bool ok() const { return ok_ && !nomem_; }
  bool nomem() const { return nomem_; }  // the blocks' table could not be allocated
  size_t used() const { return used_; }
  size_t tmp_floats() const { return tmp_floats_; }

  // Reserves bytes (64-byte aligned); nullptr during the sizing walk.
  void* take(size_t bytes) {
    size_t off = 0, end = 0;
    if (!align_up_ok(used_, 64, off) || !add_ok(off, bytes, end)) {
      ok_ = false;
      return nullptr;
    }
    used_ = end;
    return base_ ? base_ + off : nullptr;
  }
  // The conversion buffer for n floats (counted in the sizing walk; nullptr there).
  float* tmp(size_t n) {
    tmp_floats_ = std::max(tmp_floats_, n);
    return base_ ? tmp_ : nullptr;
  }

  const float* vec(Tensor t) {
    if (!t) return nullptr;
    float* p = static_cast<float*>(take(t->numel * sizeof(float)));
    if (p) tensor_to_f32(*t, p);
    return p;
  }

  PackedLinear linear(const LinearTensors& l) {
    PackedLinear r;
    r.n = static_cast<int>(l.w->dims[0]);
    r.k = static_cast<int>(l.w->dims[1]);
    r.q8 = l.w->dtype == trw::DType::Q8;
    if (r.q8) {
      void* p = take(k::gemm_q8_packed_bytes(isa_, r.n, r.k));
      // The file's scales follow the int8 payload and may be unaligned: copy them out first.
      float* scales = tmp(static_cast<size_t>(r.n));
      if (p) {
        std::memcpy(scales, l.w->scales, r.n * sizeof(float));
        r.q = k::gemm_q8_pack(isa_, reinterpret_cast<const int8_t*>(l.w->data), scales, r.n, r.k, r.k, p);
      }
    } else {
      void* p = take(k::gemm_f32_packed_bytes(isa_, r.n, r.k));
      float* src = tmp(l.w->numel);
      if (p) {
        tensor_to_f32(*l.w, src);
        r.f = k::gemm_f32_pack(isa_, src, r.n, r.k, r.k, p);
      }
    }
    r.bias = vec(l.b);
    return r;
  }

  // A p x p stride-p convolution [D, c, p, p] as an f32 GEMM over gathered patches.
  PackedLinear patch(Tensor w, Tensor b, int c, int p) {
    PackedLinear r;
    r.n = cfg_.D;
    r.k = p * p * c;
    void* dst = take(k::gemm_f32_packed_bytes(isa_, r.n, r.k));
    float* src = tmp(2 * w->numel);  // the weights, then their repacked copy
    if (dst) {
      float* repacked = src + w->numel;
      tensor_to_f32(*w, src);
      k::patch_weight_repack_f32(src, r.n, c, p, repacked);
      r.f = k::gemm_f32_pack(isa_, repacked, r.n, r.k, r.k, dst);
    }
    r.bias = vec(b);
    return r;
  }

  const float* conv3x3(Tensor w, int cout, int cin) {
    float* dst = static_cast<float*>(take(k::conv3x3s2_packed_floats(cout, cin) * sizeof(float)));
    float* src = tmp(w->numel);
    if (dst) {
      tensor_to_f32(*w, src);
      k::conv3x3s2_pack_f32(src, cout, cin, dst);
    }
    return dst;
  }

  // The packed blocks' table, from `from` (sizing walk only; the fill walk reuses it).
  void blocks(PackedModel& m, size_t n, Region* from) {
    if (!base_ && !m.blocks.resize(n, from)) nomem_ = true;
  }

 private:
  const ModelConfig& cfg_;
  k::Isa isa_;
  unsigned char* base_;
  float* tmp_;
  size_t used_ = 0;
  size_t tmp_floats_ = 0;
  bool ok_ = true;
  bool nomem_ = false;
};

void walk(Packer& pk, const ModelConfig& c, const ModelTensors& t, PackedModel& m, Region* keep) {
  if (c.arch == Arch::CfVit) {
    m.stem0_w = pk.conv3x3(t.stem0_w, c.c1, c.C);
    m.stem0_b = pk.vec(t.stem0_b);
    m.stem1_w = pk.conv3x3(t.stem1_w, c.c2, c.c1);
    m.stem1_b = pk.vec(t.stem1_b);
    m.patch = pk.patch(t.patch_w, t.patch_b, c.c2, c.p);
  } else {
    m.patch = pk.patch(t.patch_w, t.patch_b, c.C, c.P);
  }
  m.cls = pk.vec(t.cls);
  m.pos_coarse = pk.vec(t.pos_coarse);
  m.pos_fine = pk.vec(t.pos_fine);
  pk.blocks(m, t.blocks.size(), keep);
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    const BlockTensors& s = t.blocks[i];
    PackedBlock& d = m.blocks[i];
    d.ln1_w = pk.vec(s.ln1_w);
    d.ln1_b = pk.vec(s.ln1_b);
    d.qkv = pk.linear(s.qkv);
    d.proj = pk.linear(s.proj);
    d.ln2_w = pk.vec(s.ln2_w);
    d.ln2_b = pk.vec(s.ln2_b);
    d.fc1 = pk.linear(s.fc1);
    d.fc2 = pk.linear(s.fc2);
  }
  m.norm_w = pk.vec(t.norm_w);
  m.norm_b = pk.vec(t.norm_b);
  m.head = pk.linear(t.head);
  if (c.arch == Arch::CfVit) {
    m.reuse_norm_w = pk.vec(t.reuse_norm_w);
    m.reuse_norm_b = pk.vec(t.reuse_norm_b);
    m.reuse_fc1 = pk.linear(t.reuse_fc1);
    m.reuse_fc2 = pk.linear(t.reuse_fc2);
  }
}

}  // namespace

size_t PackedModel::gemm_scratch_floats() const {
  size_t s = std::max(patch.scratch_floats(), head.scratch_floats());
  for (const PackedBlock& b : blocks)
    s = std::max({s, b.qkv.scratch_floats(), b.proj.scratch_floats(), b.fc1.scratch_floats(), b.fc2.scratch_floats()});
  if (reuse_fc1.n) s = std::max({s, reuse_fc1.scratch_floats(), reuse_fc2.scratch_floats()});
  return s;
}

bool pack_model(const ModelConfig& cfg, const ModelTensors& t, kernels::Isa isa, PackedModel& out, Error& err,
                Region* temps, Region* keep) {
  out.isa = isa;
  Packer sizing(cfg, isa, nullptr, nullptr);
  walk(sizing, cfg, t, out, keep);
  if (sizing.nomem()) return err.set(TRIAGE_E_NOMEM, "cannot allocate the packed blocks' table");
  size_t need = 0;  // whole 64-byte lines
  if (!sizing.ok() || !align_up_ok(sizing.used(), 64, need)) return err.set(TRIAGE_E_LIMIT, "packed weights size overflows");
  if (!out.storage.resize(need / 64, keep)) return err.set(TRIAGE_E_NOMEM, "cannot allocate %zu bytes for packed weights", need);
  // Zeroed: padding between and inside packed tensors reads as zero.
  unsigned char* base = out.storage.data()->b;
  FallibleArray<float> tmp;
  if (!tmp.resize_for_overwrite(sizing.tmp_floats(), temps))
    return err.set(TRIAGE_E_NOMEM, "cannot allocate %zu floats for weight conversion", sizing.tmp_floats());
  Packer fill(cfg, isa, base, tmp.data());
  walk(fill, cfg, t, out, keep);
  if (!fill.ok() || fill.used() != sizing.used()) return err.set(TRIAGE_E_INTERNAL, "weight packing walk mismatch");
  return true;
}

}  // namespace triage::rt
