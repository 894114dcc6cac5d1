#include "model_like.h"

#include <cstring>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace triage::trw::test {
namespace {

struct Builder {
  Writer& w;
  std::mt19937 rng;

  void f32(const std::string& name, std::vector<uint64_t> dims) {
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    std::normal_distribution<float> dist(0.0f, 0.02f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    Error err;
    ASSERT_TRUE(w.add_tensor(name, DType::F32, dims, {reinterpret_cast<const uint8_t*>(v.data()), 4 * n}, err))
        << err.message;
  }

  void q8(const std::string& name, std::vector<uint64_t> dims) {
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    std::uniform_int_distribution<int> q(-127, 127);
    std::uniform_real_distribution<float> s(1e-4f, 1e-2f);
    std::vector<uint8_t> v(n);
    for (uint8_t& x : v) x = uint8_t(int8_t(q(rng)));
    std::vector<float> scales(dims[0]);
    for (float& x : scales) x = s(rng);
    Error err;
    ASSERT_TRUE(w.add_tensor(name, DType::Q8, dims, v, err, scales)) << err.message;
  }
};

}  // namespace

void add_model_metadata(Writer& w, int64_t dim, int64_t depth) {
  w.set_str("model.name", "adc-sem-test");
  w.set_str("arch.name", "cfvit");
  w.set_i64("arch.in_chans", 1);
  w.set_i64("arch.img_full", 64);
  w.set_i64("arch.img_coarse", 32);
  w.set_i64("arch.patch", 8);
  w.set_i64_array("arch.stem_channels", {8, 16});
  w.set_i64("arch.dim", dim);
  w.set_i64("arch.heads", 4);
  w.set_i64("arch.depth", depth);
  w.set_i64("arch.mlp_ratio", 4);
  w.set_i64("arch.reuse_hidden", dim);
  w.set_i64("arch.topk", 4);
  w.set_i64("arch.rank_layers", 3);
  w.set_f64("arch.ln_eps", 1e-6);
  w.set_f64("arch.bn_eps", 1e-5);
  w.set_str_array("labels", {"good", "particle", "bridge", "open", "scratch", "residue", "missing_contact"});
  w.set_str("good_label", "good");
  w.set_i64("input.channels", 1);
  w.set_i64("input.max_value_u8", 255);
  w.set_i64("input.max_value_u16", 65535);
  w.set_f64("input.mean", 0.5);
  w.set_f64("input.std", 0.25);
  w.set_str("converter.version", "0.1.0");
  w.set_str("converter.dtype", "q8");
  w.set_str("source.sha256", std::string(64, 'a'));
  w.set_str("source.config_sha256", std::string(64, 'b'));
  w.set_i64("router.calibrated", 0);
  w.set_f64("router.coarse_good_threshold", 2.0);
  w.set_f64("router.coarse_defect_threshold", 0.9);
  w.set_f64("router.fine_good_threshold", 0.5);
  w.set_f64("router.review_threshold", 0.6);
  w.set_str("router.provenance", "{}");
}

std::vector<uint8_t> model_like_file(uint32_t seed, int64_t depth, int64_t dim) {
  Writer w;
  add_model_metadata(w, dim, depth);
  Builder b{w, std::mt19937(seed)};
  const uint64_t D = uint64_t(dim), c1 = 8, c2 = 16, p = 2, gc = 16, gf = 64, ncls = 7;
  b.f32("stem.0.weight", {c1, 1, 3, 3});
  b.f32("stem.0.bias", {c1});
  b.f32("stem.1.weight", {c2, c1, 3, 3});
  b.f32("stem.1.bias", {c2});
  b.q8("patch.weight", {D, c2, p, p});
  b.f32("patch.bias", {D});
  b.f32("cls_token", {1, 1, D});
  b.f32("pos_coarse", {1, 1 + gc, D});
  b.f32("pos_fine", {1, 1 + gf, D});
  for (int64_t i = 0; i < depth; ++i) {
    const std::string pre = "blocks." + std::to_string(i) + ".";
    b.f32(pre + "norm1.weight", {D});
    b.f32(pre + "norm1.bias", {D});
    b.q8(pre + "attn.qkv.weight", {3 * D, D});
    b.f32(pre + "attn.qkv.bias", {3 * D});
    b.q8(pre + "attn.proj.weight", {D, D});
    b.f32(pre + "attn.proj.bias", {D});
    b.f32(pre + "norm2.weight", {D});
    b.f32(pre + "norm2.bias", {D});
    b.q8(pre + "mlp.fc1.weight", {4 * D, D});
    b.f32(pre + "mlp.fc1.bias", {4 * D});
    b.q8(pre + "mlp.fc2.weight", {D, 4 * D});
    b.f32(pre + "mlp.fc2.bias", {D});
  }
  b.f32("norm.weight", {D});
  b.f32("norm.bias", {D});
  b.q8("head.weight", {ncls, D});
  b.f32("head.bias", {ncls});
  b.f32("reuse.norm.weight", {D});
  b.f32("reuse.norm.bias", {D});
  b.q8("reuse.fc1.weight", {D, D});
  b.f32("reuse.fc1.bias", {D});
  b.q8("reuse.fc2.weight", {D, D});
  b.f32("reuse.fc2.bias", {D});
  std::vector<uint8_t> out;
  Error err;
  EXPECT_TRUE(w.serialize(out, err)) << err.message;
  return out;
}

}  // namespace triage::trw::test
