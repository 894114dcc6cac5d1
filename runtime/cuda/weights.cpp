// Host-side packing of the CUDA engine's weights (weights.h).
#include "runtime/cuda/weights.h"

#include <cstring>
#include <new>

#include "kernels/cpu/kernels.h"
#include "runtime/checked.h"
#include "weights_format/trw.h"

namespace triage::rt::gpu {
namespace {

class Packer {
 public:
  Packer(std::vector<uint8_t>& blob) : blob_(blob) { blob_.clear(); }
  bool ok() const { return ok_; }

  // Appends bytes (256-byte aligned); returns the offset.
  size_t put(const void* src, size_t bytes) {
    size_t off = 0, end = 0;
    if (!ok_ || !align_up_ok(blob_.size(), size_t(256), off) || !add_ok(off, bytes, end)) {
      ok_ = false;
      return kNone;
    }
    blob_.resize(end);
    if (bytes) std::memcpy(blob_.data() + off, src, bytes);
    return off;
  }
  size_t vec(Tensor t) {
    if (!t) return kNone;
    const std::vector<float> v = tensor_to_f32(*t);
    return put(v.data(), v.size() * sizeof(float));
  }
  size_t bf16(const std::vector<float>& v) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = trw::f32_to_bf16(v[i]);
    return put(h.data(), h.size() * sizeof(uint16_t));
  }
  DevLinear linear(const LinearTensors& l) {
    DevLinear r;
    r.n = static_cast<int>(l.w->dims[0]);
    r.k = static_cast<int>(l.w->dims[1]);
    r.q8 = l.w->dtype == trw::DType::Q8;
    if (r.q8) {
      r.w = put(l.w->data, static_cast<size_t>(r.n) * r.k);
      // The file's scales follow the int8 payload and may be unaligned: memcpy copies them as bytes.
      r.scale = put(l.w->scales, static_cast<size_t>(r.n) * sizeof(float));
    } else {
      r.w = bf16(tensor_to_f32(*l.w));
    }
    r.bias = vec(l.b);
    return r;
  }
  // p x p stride-p convolution [D, c, p, p] -> bf16 [D, p*p*c] in (ky, kx, c) order.
  DevLinear patch(Tensor w, Tensor b, int D, int c, int p) {
    DevLinear r;
    r.n = D;
    r.k = p * p * c;
    const std::vector<float> src = tensor_to_f32(*w);
    std::vector<float> re(src.size());
    kernels::patch_weight_repack_f32(src.data(), D, c, p, re.data());
    r.w = bf16(re);
    r.bias = vec(b);
    return r;
  }
  size_t conv(Tensor w, int cout, int cin) {
    const std::vector<float> src = tensor_to_f32(*w);
    std::vector<float> dst(kernels::conv3x3s2_packed_floats(cout, cin));
    kernels::conv3x3s2_pack_f32(src.data(), cout, cin, dst.data());
    return put(dst.data(), dst.size() * sizeof(float));
  }

 private:
  std::vector<uint8_t>& blob_;
  bool ok_ = true;
};

}  // namespace

bool pack_device_weights(const ModelConfig& c, const ModelTensors& t, DevWeights& m, std::vector<uint8_t>& blob,
                         Error& err) {
  try {
    m = DevWeights{};
    Packer pk(blob);
    const bool cf = c.arch == Arch::CfVit;
    if (cf) {
      m.stem0_w = pk.conv(t.stem0_w, c.c1, c.C);
      m.stem0_b = pk.vec(t.stem0_b);
      m.stem1_w = pk.conv(t.stem1_w, c.c2, c.c1);
      m.stem1_b = pk.vec(t.stem1_b);
      m.patch = pk.patch(t.patch_w, t.patch_b, c.D, c.c2, c.p);
    } else {
      m.patch = pk.patch(t.patch_w, t.patch_b, c.D, c.C, c.P);
    }
    m.cls = pk.vec(t.cls);
    m.pos_coarse = pk.vec(t.pos_coarse);
    m.pos_fine = pk.vec(t.pos_fine);
    m.blocks.resize(t.blocks.size());
    for (size_t i = 0; i < t.blocks.size(); ++i) {
      const BlockTensors& s = t.blocks[i];
      DevBlock& d = m.blocks[i];
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
    if (cf) {
      m.reuse_norm_w = pk.vec(t.reuse_norm_w);
      m.reuse_norm_b = pk.vec(t.reuse_norm_b);
      m.reuse_fc1 = pk.linear(t.reuse_fc1);
      m.reuse_fc2 = pk.linear(t.reuse_fc2);
    }
    if (!pk.ok()) return err.set(TRIAGE_E_LIMIT, "device weight blob size overflows");
    // Pad to the alignment so the upload covers whole aligned units.
    size_t padded = 0;
    if (!align_up_ok(blob.size(), size_t(256), padded)) return err.set(TRIAGE_E_LIMIT, "device weight blob size overflows");
    blob.resize(padded);
    m.bytes = blob.size();
  } catch (const std::bad_alloc&) {
    return err.set(TRIAGE_E_NOMEM, "out of host memory packing the device weights");
  }
  return true;
}

}  // namespace triage::rt::gpu
