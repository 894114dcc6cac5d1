// Random .trw models for the engine tests. Weights ~ N(0, 1/fan_in) so activations keep a useful
// scale through the blocks; vectors (LayerNorm, biases, positions) ~ N(0, 0.3^2) around their usual
// values.
#include "tests/runtime/random_model.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <stdexcept>

#include "runtime/model_config.h"
#include "weights_format/trw.h"

namespace triage::test {
namespace {

class Builder {
 public:
  Builder(const RandomModelSpec& s) : s_(s), rng_(s.seed) {}

  void tensor(const std::string& name, std::vector<uint64_t> dims, float stdv, float offset = 0, bool linear = false) {
    if (name == s_.drop_tensor) return;
    size_t n = 1;
    for (uint64_t d : dims) n *= d;
    std::normal_distribution<float> nd(0.0f, stdv);
    std::vector<float> v(n);
    for (float& x : v) x = offset + nd(rng_);
    trw::Error err;
    bool ok = false;
    if (linear && s_.dtype == "q8") {
      const size_t rows = dims[0], cols = n / rows;
      std::vector<int8_t> q(n);
      std::vector<float> scales(rows);
      for (size_t r = 0; r < rows; ++r) {
        float amax = 0;
        for (size_t j = 0; j < cols; ++j) amax = std::max(amax, std::fabs(v[r * cols + j]));
        scales[r] = amax > 0 ? amax / 127.0f : 1.0f;
        for (size_t j = 0; j < cols; ++j) q[r * cols + j] = static_cast<int8_t>(std::nearbyint(v[r * cols + j] / scales[r]));
      }
      ok = w_.add_tensor(name, trw::DType::Q8, dims, {reinterpret_cast<const uint8_t*>(q.data()), n}, err, scales);
    } else if (s_.dtype == "f16" || s_.dtype == "bf16") {
      std::vector<uint16_t> h(n);
      for (size_t i = 0; i < n; ++i) h[i] = s_.dtype == "f16" ? trw::f32_to_f16(v[i]) : trw::f32_to_bf16(v[i]);
      ok = w_.add_tensor(name, s_.dtype == "f16" ? trw::DType::F16 : trw::DType::BF16, dims,
                         {reinterpret_cast<const uint8_t*>(h.data()), n * 2}, err);
    } else {
      ok = w_.add_tensor(name, trw::DType::F32, dims, {reinterpret_cast<const uint8_t*>(v.data()), n * 4}, err);
    }
    if (!ok) throw std::runtime_error("random model: " + err.message);
  }
  void linear(const std::string& p, uint64_t out, uint64_t in) {
    tensor(p + ".weight", {out, in}, 1.0f / std::sqrt(static_cast<float>(in)), 0, true);
    tensor(p + ".bias", {out}, 0.1f);
  }
  void norm(const std::string& p, uint64_t d) {
    tensor(p + ".weight", {d}, 0.2f, 1.0f);
    tensor(p + ".bias", {d}, 0.2f);
  }

  std::vector<uint8_t> build() {
    const RandomModelSpec& s = s_;
    const bool cf = s.arch == "cfvit";
    const uint64_t D = s.D, Sc = s.Sf / 2, Wc = Sc / s.P, Gc = Wc * Wc, Gf = cf ? 4 * Gc : uint64_t(s.Sf / s.P) * (s.Sf / s.P);
    w_.set_str("model.name", "random-" + s.arch + "-" + s.dtype);
    w_.set_str("arch.name", s.arch);
    w_.set_i64("arch.in_chans", s.C);
    w_.set_i64("arch.img_full", s.Sf);
    w_.set_i64("arch.patch", s.P);
    w_.set_i64("arch.dim", s.D);
    w_.set_i64("arch.heads", s.H);
    w_.set_i64("arch.depth", s.L);
    w_.set_i64("arch.mlp_ratio", s.mlp_ratio);
    w_.set_f64("arch.ln_eps", 1e-6);
    if (cf) {
      w_.set_i64("arch.img_coarse", Sc);
      w_.set_i64_array("arch.stem_channels", {s.c1, s.c2});
      w_.set_i64("arch.reuse_hidden", s.Dr);
      w_.set_i64("arch.topk", s.K);
      w_.set_i64("arch.rank_layers", s.R);
      w_.set_f64("arch.bn_eps", 1e-5);
    }
    std::vector<std::string> labels;
    for (int i = 0; i < s.ncls; ++i) labels.push_back("class" + std::to_string(i));
    w_.set_str_array("labels", labels);
    w_.set_str("good_label", s.good >= 0 ? labels[s.good] : std::string());  // "": no good class
    w_.set_i64("input.channels", s.C);
    w_.set_i64("input.max_value_u8", static_cast<int64_t>(s.max_u8));
    w_.set_i64("input.max_value_u16", static_cast<int64_t>(s.max_u16));
    w_.set_f64("input.mean", s.mean);
    w_.set_f64("input.std", s.std);
    w_.set_str("converter.dtype", s.dtype);
    w_.set_i64("router.calibrated", s.calibrated);
    w_.set_f64("router.coarse_good_threshold", s.coarse_good);
    w_.set_f64("router.coarse_defect_threshold", s.coarse_defect);
    w_.set_f64("router.fine_good_threshold", s.fine_good);
    w_.set_f64("router.review_threshold", s.review);
    if (!s.class_review.empty()) w_.set_f64_array("router.class_review_thresholds", s.class_review);
    w_.set_str("router.provenance", "{}");
    if (cf) {
      const uint64_t p = s.P / 4;
      tensor("stem.0.weight", {uint64_t(s.c1), uint64_t(s.C), 3, 3}, 1.0f / std::sqrt(9.0f * s.C));
      tensor("stem.0.bias", {uint64_t(s.c1)}, 0.1f);
      tensor("stem.1.weight", {uint64_t(s.c2), uint64_t(s.c1), 3, 3}, 1.0f / std::sqrt(9.0f * s.c1));
      tensor("stem.1.bias", {uint64_t(s.c2)}, 0.1f);
      tensor("patch.weight", {D, uint64_t(s.c2), p, p}, 1.0f / std::sqrt(float(s.c2 * p * p)), 0, true);
      tensor("patch.bias", {D}, 0.1f);
      tensor("cls_token", {1, 1, D}, 0.3f);
      tensor("pos_coarse", {1, 1 + Gc, D}, 0.3f);
      tensor("pos_fine", {1, 1 + Gf, D}, 0.3f);
    } else {
      const uint64_t P = s.P;
      tensor("patch_embed.proj.weight", {D, uint64_t(s.C), P, P}, 1.0f / std::sqrt(float(s.C * P * P)), 0, true);
      tensor("patch_embed.proj.bias", {D}, 0.1f);
      tensor("cls_token", {1, 1, D}, 0.3f);
      tensor("pos_embed", {1, 1 + Gf, D}, 0.3f);
    }
    for (int l = 0; l < s.L; ++l) {
      const std::string b = "blocks." + std::to_string(l);
      norm(b + ".norm1", D);
      linear(b + ".attn.qkv", 3 * D, D);
      linear(b + ".attn.proj", D, D);
      norm(b + ".norm2", D);
      linear(b + ".mlp.fc1", uint64_t(s.mlp_ratio) * D, D);
      linear(b + ".mlp.fc2", D, uint64_t(s.mlp_ratio) * D);
    }
    norm("norm", D);
    linear("head", uint64_t(s.ncls), D);
    if (cf) {
      norm("reuse.norm", D);
      linear("reuse.fc1", uint64_t(s.Dr), D);
      linear("reuse.fc2", D, uint64_t(s.Dr));
    }
    for (const auto& [key, value] : s.meta_i64) w_.set_i64(key, value);
    for (size_t k = 0; k < s.ood.size() && k < std::size(rt::kOodKeys); ++k) w_.set_f64(rt::kOodKeys[k], s.ood[k]);
    if (!s.ood.empty()) w_.set_f64("router.ood_false_flag_rate", 0.01);
    for (const auto& [key, value] : s.meta_f64) w_.set_f64(key, value);
    std::vector<uint8_t> out;
    trw::Error err;
    if (!w_.serialize(out, err)) throw std::runtime_error("random model: " + err.message);
    return out;
  }

 private:
  const RandomModelSpec& s_;
  std::mt19937_64 rng_;
  trw::Writer w_;
};

}  // namespace

std::vector<uint8_t> make_random_model(const RandomModelSpec& spec) { return Builder(spec).build(); }

TestImage make_random_image(uint64_t seed, uint32_t h, uint32_t w, uint32_t c, bool u16) {
  std::mt19937_64 rng(seed);
  TestImage t;
  t.pixel = u16 ? 2 : 1;
  t.height = h;
  t.width = w;
  t.channels = c;
  t.row_stride = static_cast<size_t>(w) * c * (u16 ? 2 : 1);
  t.storage.assign((t.row_stride * h + 1) / 2, 0);
  // Smooth structure plus noise, so patches differ in informativeness.
  const double fx = 1 + rng() % 5, fy = 1 + rng() % 5, ph = (rng() % 1000) / 159.0;
  uint8_t* b = reinterpret_cast<uint8_t*>(t.storage.data());
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w * c; ++x) {
      const double s = 0.5 + 0.35 * std::sin(fx * x / w * 6.28 + ph) * std::cos(fy * y / h * 6.28) +
                       0.15 * ((rng() % 2001) / 1000.0 - 1.0);
      const double v = std::min(1.0, std::max(0.0, s));
      if (u16) t.storage[static_cast<size_t>(y) * w * c + x] = static_cast<uint16_t>(v * 65535);
      else b[static_cast<size_t>(y) * w * c + x] = static_cast<uint8_t>(v * 255);
    }
  return t;
}

}  // namespace triage::test
