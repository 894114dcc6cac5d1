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
  Packer(const ModelConfig& cfg, k::Isa isa, unsigned char* base) : cfg_(cfg), isa_(isa), base_(base) {}

  bool ok() const { return ok_ && !nomem_; }
  bool nomem() const { return nomem_; }  // a temporary or table allocation failed
  size_t used() const { return used_; }

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
      if (p) {
        // The file's scales follow the int8 payload and may be unaligned: copy them out first.
        FallibleArray<float> scales;
        if (!scales.resize(static_cast<size_t>(r.n))) {
          nomem_ = true;
        } else {
          std::memcpy(scales.data(), l.w->scales, r.n * sizeof(float));
          r.q = k::gemm_q8_pack(isa_, reinterpret_cast<const int8_t*>(l.w->data), scales.data(), r.n, r.k, r.k, p);
        }
      }
    } else {
      void* p = take(k::gemm_f32_packed_bytes(isa_, r.n, r.k));
      FallibleArray<float> src;
      if (p && !tensor_to_f32(*l.w, src)) nomem_ = true;
      else if (p) r.f = k::gemm_f32_pack(isa_, src.data(), r.n, r.k, r.k, p);
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
    FallibleArray<float> src, repacked;
    if (dst && (!tensor_to_f32(*w, src) || !repacked.resize(src.size()))) {
      nomem_ = true;
    } else if (dst) {
      k::patch_weight_repack_f32(src.data(), r.n, c, p, repacked.data());
      r.f = k::gemm_f32_pack(isa_, repacked.data(), r.n, r.k, r.k, dst);
    }
    r.bias = vec(b);
    return r;
  }

  const float* conv3x3(Tensor w, int cout, int cin) {
    float* dst = static_cast<float*>(take(k::conv3x3s2_packed_floats(cout, cin) * sizeof(float)));
    FallibleArray<float> src;
    if (dst && !tensor_to_f32(*w, src)) nomem_ = true;
    else if (dst) k::conv3x3s2_pack_f32(src.data(), cout, cin, dst);
    return dst;
  }

 private:
  const ModelConfig& cfg_;
  k::Isa isa_;
  unsigned char* base_;
  size_t used_ = 0;
  bool ok_ = true;
  bool nomem_ = false;

 public:
  // The packed blocks' table (once per walk; false: out of memory).
  void blocks(PackedModel& m, size_t n) {
    if (m.blocks.size() != n && !m.blocks.resize(n)) nomem_ = true;
  }
};

void walk(Packer& pk, const ModelConfig& c, const ModelTensors& t, PackedModel& m) {
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
  pk.blocks(m, t.blocks.size());
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

bool packed_bytes(const ModelConfig& cfg, const ModelTensors& t, kernels::Isa isa, size_t& bytes, Error& err) {
  PackedModel scratch;
  Packer sizing(cfg, isa, nullptr);
  walk(sizing, cfg, t, scratch);
  if (sizing.nomem()) return err.set(TRIAGE_E_NOMEM, "cannot allocate the packed blocks' table");
  if (!sizing.ok() || !align_up_ok(sizing.used(), 64, bytes)) return err.set(TRIAGE_E_LIMIT, "packed weights size overflows");
  return true;
}

bool pack_model(const ModelConfig& cfg, const ModelTensors& t, kernels::Isa isa, void* mem, size_t mem_size,
                PackedModel& out, Error& err) {
  out.isa = isa;
  Packer sizing(cfg, isa, nullptr);
  walk(sizing, cfg, t, out);
  if (sizing.nomem()) return err.set(TRIAGE_E_NOMEM, "cannot allocate the packed blocks' table");
  size_t need = 0;  // whole 64-byte lines, as owned storage (AlignedBuffer) rounds
  if (!sizing.ok() || !align_up_ok(sizing.used(), 64, need)) return err.set(TRIAGE_E_LIMIT, "packed weights size overflows");
  if (mem) {
    if (mem_size < need)
      return err.set(TRIAGE_E_NOMEM, "options.weights_size %zu is below the %zu bytes the packed weights take", mem_size, need);
    std::memset(mem, 0, need);  // padding between and inside packed tensors reads as zero, as in owned storage
    out.base = static_cast<unsigned char*>(mem);
  } else {
    if (!out.storage.allocate(need)) return err.set(TRIAGE_E_NOMEM, "cannot allocate %zu bytes for packed weights", need);
    out.base = out.storage.data();
  }
  out.nbytes = need;
  Packer fill(cfg, isa, out.base);
  walk(fill, cfg, t, out);
  if (fill.nomem()) return err.set(TRIAGE_E_NOMEM, "cannot allocate a weight packing temporary");
  if (!fill.ok() || fill.used() != sizing.used()) return err.set(TRIAGE_E_INTERNAL, "weight packing walk mismatch");
  return true;
}

}  // namespace triage::rt
