// End-to-end conversion of tiny random cfvit / timm-vit checkpoints: the .trw file reads back with
// trw::File, holds the right tensors, types and metadata, and the stored weights are within the
// documented error of the float weights.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "runtime/triage.h"
#include "runtime/version.h"
#include "tests/convert/convert_helpers.h"
#include "tools/convert/fold_bn.h"
#include "tools/convert/quantize.h"
#include "tools/convert/sha256.h"

namespace triage::convert {
namespace {

using json = nlohmann::json;

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// The f32 values the file should hold: the checkpoint's tensors, with each stem BN folded.
std::map<std::string, std::vector<float>> reference_tensors(const test::TinyModel& m) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, v] : m.weights)
    if (name.rfind("stem.", 0) != 0) out[name] = v;
  if (m.config["arch"]["name"] == "cfvit")
    for (int j = 0; j < 2; ++j) {
      const std::string s = "stem." + std::to_string(j) + ".";
      std::vector<float> w, b;
      Error err;
      EXPECT_TRUE(fold_batchnorm(m.weights.at(s + "conv.weight"), m.weights.at(s + "bn.weight"),
                                 m.weights.at(s + "bn.bias"), m.weights.at(s + "bn.running_mean"),
                                 m.weights.at(s + "bn.running_var"), 1e-5, s, w, b, err));
      out[s + "weight"] = w;
      out[s + "bias"] = b;
    }
  return out;
}

// Checks every stored tensor against the reference: type rule, values within the type's bound,
// report rows consistent with the file.
void check_tensors(const test::Converted& c, const test::TinyModel& m, trw::DType dtype) {
  auto ref = reference_tensors(m);
  std::set<std::string> names;
  for (const auto& t : c.file.tensors()) names.insert(std::string(t.name));
  std::set<std::string> want;
  for (const auto& [n, v] : ref) want.insert(n);
  EXPECT_EQ(names, want);
  ASSERT_EQ(c.report.tensors.size(), c.file.tensors().size());
  uint64_t params = 0, bytes = 0;
  for (size_t k = 0; k < c.file.tensors().size(); ++k) {
    const trw::TensorView& t = c.file.tensors()[k];
    const std::string name(t.name);
    const TensorReport& row = c.report.tensors[k];
    EXPECT_EQ(row.name, t.name);
    EXPECT_EQ(row.bytes, t.nbytes) << t.name;
    params += t.numel;
    bytes += t.nbytes;
    const bool matrix = ends_with(name, ".weight") && (t.rank == 2 || t.rank == 4);
    const trw::DType want_type = matrix ? dtype : trw::DType::F32;
    EXPECT_EQ(t.dtype, want_type) << t.name;
    const std::vector<float>& r = ref.at(name);
    const std::vector<float> got = test::stored_values(c.file, name);
    ASSERT_EQ(got.size(), r.size()) << t.name;
    if (want_type == trw::DType::F32) {
      EXPECT_EQ(got, r) << t.name;
      EXPECT_FALSE(row.lossy);
      continue;
    }
    EXPECT_TRUE(row.lossy) << t.name;
    if (want_type == trw::DType::Q8) {
      const uint64_t rows = t.dims[0], cols = t.numel / rows;
      for (uint64_t i = 0; i < rows; ++i) {
        float amax = 0;
        for (uint64_t j = 0; j < cols; ++j) amax = std::max(amax, std::fabs(r[i * cols + j]));
        const float scale = t.scales[i];
        EXPECT_FLOAT_EQ(scale, std::max(amax / 127.0f, kQ8MinScale)) << t.name << " row " << i;
        for (uint64_t j = 0; j < cols; ++j) {
          const size_t e = i * cols + j;
          ASSERT_LE(std::fabs(got[e] - r[e]), scale * 0.5f * (1 + 1e-6f) + FLT_MIN) << t.name << " element " << e;
          ASSERT_GE(static_cast<int8_t>(t.data[e]), -127);
        }
      }
      // Uniform weights: SNR = 10 log10(4 * 127^2) ~ 48 dB with the row max at the range's edge.
      EXPECT_GT(row.snr_db, 40.0) << t.name;
    } else {
      const double rel = want_type == trw::DType::F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
      const double floor = want_type == trw::DType::F16 ? std::ldexp(1.0, -25) : 0.0;
      for (size_t e = 0; e < r.size(); ++e)
        ASSERT_LE(std::fabs(double(got[e]) - r[e]), std::fabs(double(r[e])) * rel + floor) << t.name << " " << e;
      EXPECT_GT(row.snr_db, want_type == trw::DType::F16 ? 65.0 : 45.0) << t.name;
    }
    double max_err = 0;
    for (size_t e = 0; e < r.size(); ++e) max_err = std::max(max_err, std::fabs(double(got[e]) - r[e]));
    EXPECT_DOUBLE_EQ(row.max_abs_err, max_err) << t.name;
  }
  EXPECT_EQ(c.report.params, params);
  EXPECT_EQ(c.report.tensor_bytes, bytes);
  EXPECT_EQ(c.report.file_size, c.buf.span().size());
}

std::string meta_str(const trw::File& f, const char* key) {
  std::string s;
  trw::Error err;
  EXPECT_TRUE(f.get_str(key, s, err)) << key << ": " << err.message;
  return s;
}
int64_t meta_i64(const trw::File& f, const char* key) {
  int64_t v = -1;
  trw::Error err;
  EXPECT_TRUE(f.get_i64(key, v, err)) << key << ": " << err.message;
  return v;
}
double meta_f64(const trw::File& f, const char* key) {
  double v = -1;
  trw::Error err;
  EXPECT_TRUE(f.get_f64(key, v, err)) << key << ": " << err.message;
  return v;
}

TEST(Convert, CfvitQ8) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(1);
  test::Converted c;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, m, trw::DType::Q8, c, err)) << err.message;
  check_tensors(c, m, trw::DType::Q8);
  const trw::File& f = c.file;
  // The zero row of head.weight: floor scale, dequantises to zeros.
  const trw::TensorView* head = f.find_tensor("head.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->scales[1], kQ8MinScale);

  EXPECT_EQ(meta_str(f, "model.name"), "tiny-cfvit");
  EXPECT_EQ(meta_str(f, "arch.name"), "cfvit");
  EXPECT_EQ(meta_i64(f, "arch.in_chans"), 1);
  EXPECT_EQ(meta_i64(f, "arch.img_full"), 32);
  EXPECT_EQ(meta_i64(f, "arch.img_coarse"), 16);
  EXPECT_EQ(meta_i64(f, "arch.patch"), 8);
  std::vector<int64_t> stem;
  trw::Error terr;
  ASSERT_TRUE(f.get_i64_array("arch.stem_channels", stem, terr));
  EXPECT_EQ(stem, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(meta_i64(f, "arch.dim"), 32);
  EXPECT_EQ(meta_i64(f, "arch.heads"), 2);
  EXPECT_EQ(meta_i64(f, "arch.depth"), 2);
  EXPECT_EQ(meta_i64(f, "arch.mlp_ratio"), 4);
  EXPECT_EQ(meta_i64(f, "arch.reuse_hidden"), 16);
  EXPECT_EQ(meta_i64(f, "arch.topk"), 2);
  EXPECT_EQ(meta_i64(f, "arch.rank_layers"), 1);
  EXPECT_DOUBLE_EQ(meta_f64(f, "arch.ln_eps"), 1e-6);
  EXPECT_DOUBLE_EQ(meta_f64(f, "arch.bn_eps"), 1e-5);
  std::vector<std::string> labels;
  ASSERT_TRUE(f.get_str_array("labels", labels, terr));
  EXPECT_EQ(labels, (std::vector<std::string>{"good", "particle", "scratch"}));
  EXPECT_EQ(meta_str(f, "good_label"), "good");
  EXPECT_EQ(meta_i64(f, "input.channels"), 1);
  EXPECT_EQ(meta_i64(f, "input.max_value_u8"), 255);
  EXPECT_EQ(meta_i64(f, "input.max_value_u16"), 65535);
  EXPECT_DOUBLE_EQ(meta_f64(f, "input.mean"), 0.5);
  EXPECT_DOUBLE_EQ(meta_f64(f, "input.std"), 0.25);
  EXPECT_EQ(meta_str(f, "converter.version"), triage::version_string());
  EXPECT_EQ(meta_str(f, "converter.dtype"), "q8");
  EXPECT_EQ(meta_str(f, "source.sha256"), sha256_hex(test::read_bytes(dir.path("model.safetensors"))));
  EXPECT_EQ(meta_str(f, "source.config_sha256"), sha256_hex(test::read_bytes(dir.path("config.json"))));
  EXPECT_EQ(meta_i64(f, "router.calibrated"), 0);
  EXPECT_DOUBLE_EQ(meta_f64(f, "router.coarse_good_threshold"), 2.0);
  EXPECT_DOUBLE_EQ(meta_f64(f, "router.coarse_defect_threshold"), 0.9);
  EXPECT_DOUBLE_EQ(meta_f64(f, "router.fine_good_threshold"), 0.5);
  EXPECT_DOUBLE_EQ(meta_f64(f, "router.review_threshold"), 0.6);
  EXPECT_EQ(meta_str(f, "router.provenance"), "{}");
  EXPECT_EQ(f.metadata().size(), 33u);  // exactly the documented keys

  EXPECT_EQ(c.report.source_tensors, m.shapes.size() + 2);  // + 2 num_batches_tracked
  EXPECT_EQ(c.report.ignored_tensors, 2u);
  EXPECT_GT(c.report.min_snr_db, 40.0);
}

TEST(Convert, CfvitF16) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(2);
  test::Converted c;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, m, trw::DType::F16, c, err)) << err.message;
  check_tensors(c, m, trw::DType::F16);
  EXPECT_EQ(meta_str(c.file, "converter.dtype"), "f16");
}

TEST(Convert, CfvitBf16) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(3);
  test::Converted c;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, m, trw::DType::BF16, c, err)) << err.message;
  check_tensors(c, m, trw::DType::BF16);
  EXPECT_EQ(meta_str(c.file, "converter.dtype"), "bf16");
}

TEST(Convert, CfvitF32IsExact) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(4);
  test::Converted c;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, m, trw::DType::F32, c, err)) << err.message;
  check_tensors(c, m, trw::DType::F32);
  EXPECT_TRUE(std::isinf(c.report.min_snr_db));
}

// Opens a converted file with default options and reads its info (failures reported; null if the open
// failed).
triage_model* open_with_info(const test::Converted& c, triage_model_info& info) {
  const auto bytes = c.buf.span();
  triage_options o;
  triage_options_init(&o);
  triage_model* model = nullptr;
  EXPECT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &model), TRIAGE_OK) << triage_open_error();
  info = triage_model_info{};
  info.struct_size = sizeof info;
  if (model) {
    EXPECT_EQ(triage_get_info(model, &info), TRIAGE_OK);
  }
  return model;
}

// Token skipping keys (docs/model-family.md "Token skipping") go into the file and the engine opens it
// with them (tiny cfvit: Gc 4, K 2, depth 2, 1 ranking layer); a file converted without them has none.
TEST(Convert, TokenSkippingKeysAreWrittenAndOpen) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(6);
  test::Converted plain;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, m, trw::DType::Q8, plain, err)) << err.message;
  for (const char* k : {"arch.keep_coarse", "arch.skip_layer", "arch.keep_fine"}) EXPECT_EQ(plain.file.find_meta(k), nullptr) << k;
  test::TempDir dir2;
  m.config["arch"]["keep_coarse"] = 3;
  m.config["arch"]["skip_layer"] = 1;
  m.config["arch"]["keep_fine"] = 1;
  test::Converted c;
  ASSERT_TRUE(test::convert_model(dir2, m, trw::DType::Q8, c, err)) << err.message;
  EXPECT_EQ(meta_i64(c.file, "arch.keep_coarse"), 3);
  EXPECT_EQ(meta_i64(c.file, "arch.skip_layer"), 1);
  EXPECT_EQ(meta_i64(c.file, "arch.keep_fine"), 1);
  triage_model_info info{};
  triage_model* model = open_with_info(c, info);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(info.tokens_coarse, (1u * 5 + 1u * 5 + 1) / 2);  // (s (1 + Gc) + (L - s)(kc + 2) + L/2) / L
  EXPECT_EQ(info.tokens_fine, 1u + 4 * 2 + 1 + 1);             // 1 + 4K + keep_fine + fused
  triage_close(model);
}

// A model without a good class (config good_label null, .trw good_label ""): it opens, reports
// good_class -1, and its router never exits at the coarse pass below coarse_defect nor decides "good".
TEST(Convert, NoGoodClassModelOpensAndRoutesOnConfidenceOnly) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(5);
  m.config["good_label"] = nullptr;
  test::Converted c;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, m, trw::DType::Q8, c, err)) << err.message;
  EXPECT_EQ(meta_str(c.file, "good_label"), "");
  triage_model_info info{};
  triage_model* model = open_with_info(c, info);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(info.good_class, -1);
  std::vector<uint8_t> px(40 * 36);
  uint32_t state = 12345;
  for (int n = 0; n < 16; ++n) {
    for (auto& v : px) v = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
    const triage_image im{px.data(), TRIAGE_PIXEL_U8, 40, 36, 1, 36};
    triage_result r{};
    ASSERT_EQ(triage_classify(model, &im, &r), TRIAGE_OK) << triage_last_error(model);
    int argmax = 0;
    for (int k = 1; k < static_cast<int>(info.num_classes); ++k)
      if (r.probabilities[k] > r.probabilities[argmax]) argmax = k;
    EXPECT_EQ(r.class_index, argmax);  // the final decision is the argmax of the pass that decided
    if (r.route == TRIAGE_ROUTE_COARSE) {
      EXPECT_GE(r.confidence, info.coarse_defect_threshold);
    }
  }
  triage_close(model);
}

TEST(Convert, TimmVitQ8KeepsNamesAndVitMetadata) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_vit(6);
  test::Converted c;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, m, trw::DType::Q8, c, err)) << err.message;
  check_tensors(c, m, trw::DType::Q8);
  EXPECT_EQ(c.file.find_tensor("patch_embed.proj.weight")->dtype, trw::DType::Q8);
  EXPECT_EQ(c.file.find_tensor("pos_embed")->dtype, trw::DType::F32);
  EXPECT_EQ(meta_str(c.file, "arch.name"), "vit");
  EXPECT_EQ(meta_i64(c.file, "arch.in_chans"), 3);
  EXPECT_EQ(meta_i64(c.file, "arch.mlp_ratio"), 4);
  for (const char* key : {"arch.img_coarse", "arch.stem_channels", "arch.reuse_hidden", "arch.topk",
                          "arch.rank_layers", "arch.bn_eps"})
    EXPECT_EQ(c.file.find_meta(key), nullptr) << key;
  EXPECT_EQ(c.file.metadata().size(), 27u);
}

TEST(Convert, HalfPrecisionCheckpointReadsExactly) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_vit(8);
  std::vector<test::StEntry> es;
  for (auto& [name, shape] : m.shapes) {
    auto& v = m.weights[name];
    test::StEntry e{name, "BF16", shape, std::vector<uint8_t>(v.size() * 2)};
    for (size_t i = 0; i < v.size(); ++i) {
      uint16_t h = trw::f32_to_bf16(v[i]);
      v[i] = trw::bf16_to_f32(h);  // the reference is what the checkpoint really holds
      std::memcpy(e.bytes.data() + 2 * i, &h, 2);
    }
    es.push_back(std::move(e));
  }
  test::write_bytes(dir.path("model.safetensors"), test::make_safetensors(es));
  test::write_text(dir.path("config.json"), m.config.dump());
  ConvertOptions opt{dir.path("model.safetensors"), "", trw::DType::F32, dir.path("o.trw")};
  ConvertReport rep;
  Error err;
  ASSERT_TRUE(convert_checkpoint(opt, rep, err)) << err.message;
  test::Converted c;
  trw::Error terr;
  ASSERT_TRUE(c.buf.read_file(opt.output, terr) && c.file.parse(c.buf.span(), terr)) << terr.message;
  c.report = rep;
  check_tensors(c, m, trw::DType::F32);
}

TEST(Convert, MissingAndUnexpectedTensorsAreAllListed) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(1);
  auto es = test::entries(m);
  std::erase_if(es, [](const test::StEntry& e) {
    return e.name == "blocks.1.attn.proj.bias" || e.name == "reuse.fc2.weight" || e.name == "stem.1.bn.running_var";
  });
  es.push_back(test::f32_entry("blocks.0.ls1.gamma", {32}, std::vector<float>(32)));
  es.push_back(test::f32_entry("extra", {1}, {1}));
  for (auto& e : es)
    if (e.name == "cls_token") e = test::f32_entry("cls_token", {1, 32}, std::vector<float>(32));
  test::write_bytes(dir.path("model.safetensors"), test::make_safetensors(es));
  test::write_text(dir.path("config.json"), m.config.dump());
  ConvertOptions opt{dir.path("model.safetensors"), "", trw::DType::Q8, dir.path("o.trw")};
  ConvertReport rep;
  Error err;
  ASSERT_FALSE(convert_checkpoint(opt, rep, err));
  EXPECT_EQ(err.code, Errc::Tensors);
  for (const char* name : {"blocks.1.attn.proj.bias", "reuse.fc2.weight", "stem.1.bn.running_var",
                           "blocks.0.ls1.gamma", "extra", "'cls_token' is [1, 32] not [1, 1, 32]",
                           "3 missing tensors", "2 unexpected tensors", "1 wrong shapes"})
    EXPECT_NE(err.message.find(name), std::string::npos) << name << " not in: " << err.message;
  EXPECT_EQ(err.message.find('\n'), std::string::npos);
  EXPECT_EQ(err.message.find("num_batches_tracked"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(opt.output));
}

TEST(Convert, IntegerWeightIsRefused) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(1);
  auto es = test::entries(m);
  for (auto& e : es)
    if (e.name == "head.bias") e.dtype = "I32";  // same byte size as F32
  test::write_bytes(dir.path("model.safetensors"), test::make_safetensors(es));
  test::write_text(dir.path("config.json"), m.config.dump());
  ConvertOptions opt{dir.path("model.safetensors"), "", trw::DType::Q8, dir.path("o.trw")};
  ConvertReport rep;
  Error err;
  ASSERT_FALSE(convert_checkpoint(opt, rep, err));
  EXPECT_EQ(err.code, Errc::Unsupported);
  EXPECT_NE(err.message.find("'head.bias'"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("I32"), std::string::npos) << err.message;
}

TEST(Convert, NonFiniteWeightIsRefused) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(1);
  m.weights["pos_fine"][7] = std::nanf("");
  ConvertOptions opt{test::write_model(dir, m), "", trw::DType::Q8, dir.path("o.trw")};
  ConvertReport rep;
  Error err;
  ASSERT_FALSE(convert_checkpoint(opt, rep, err));
  EXPECT_EQ(err.code, Errc::Unsupported);
  EXPECT_NE(err.message.find("'pos_fine'"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("element 7"), std::string::npos) << err.message;
}

TEST(Convert, RefusesToOverwriteAnyInput) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(1);
  const std::string ckpt = test::write_model(dir, m);
  const auto ckpt_bytes = test::read_bytes(ckpt);
  const auto cfg_bytes = test::read_bytes(dir.path("config.json"));
  ASSERT_EQ(::symlink(ckpt.c_str(), dir.path("link.trw").c_str()), 0);
  for (const std::string& out : {ckpt, dir.path("config.json"), dir.path("./model.safetensors"), dir.path("link.trw")}) {
    ConvertOptions opt{ckpt, "", trw::DType::Q8, out};
    ConvertReport rep;
    Error err;
    EXPECT_FALSE(convert_checkpoint(opt, rep, err)) << out;
    EXPECT_EQ(err.code, Errc::Output) << out;
    EXPECT_NE(err.message.find("refusing to overwrite input"), std::string::npos) << err.message;
  }
  EXPECT_EQ(test::read_bytes(ckpt), ckpt_bytes);
  EXPECT_EQ(test::read_bytes(dir.path("config.json")), cfg_bytes);
}

TEST(Convert, DirectoryArgumentAndDefaultConfig) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_vit(9);
  test::write_model(dir, m);
  ConvertOptions opt{dir.dir(), "", trw::DType::Q8, dir.path("o.trw")};
  ConvertReport rep;
  Error err;
  ASSERT_TRUE(convert_checkpoint(opt, rep, err)) << err.message;
  EXPECT_EQ(rep.config_path, dir.path("config.json"));
  EXPECT_EQ(default_config_path("a/b/model.safetensors"), "a/b/config.json");
  EXPECT_EQ(default_config_path("model.safetensors"), "config.json");
}

TEST(Convert, MissingConfigIsAnErrorThatSaysSo) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_vit(9);
  const std::string ckpt = test::write_model(dir, m);
  std::filesystem::remove(dir.path("config.json"));
  ConvertOptions opt{ckpt, "", trw::DType::Q8, dir.path("o.trw")};
  ConvertReport rep;
  Error err;
  ASSERT_FALSE(convert_checkpoint(opt, rep, err));
  EXPECT_EQ(err.code, Errc::Io);
  EXPECT_NE(err.message.find("config.json is required"), std::string::npos) << err.message;
}

TEST(Convert, ConfigDisagreeingWithCheckpointIsRefused) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_cfvit(1);
  const std::string ckpt = test::write_model(dir, m);
  json cfg = m.config;
  cfg["labels"] = {"good", "particle", "scratch", "bridge"};  // head has 3 rows
  test::write_text(dir.path("other.json"), cfg.dump());
  ConvertOptions opt{ckpt, dir.path("other.json"), trw::DType::Q8, dir.path("o.trw")};
  ConvertReport rep;
  Error err;
  ASSERT_FALSE(convert_checkpoint(opt, rep, err));
  EXPECT_NE(err.message.find("'head.weight' is [3, 32] not [4, 32]"), std::string::npos) << err.message;
}

TEST(Convert, ReportJsonIsOneObjectMatchingTheReport) {
  test::TempDir dir;
  test::Converted c;
  Error err;
  ASSERT_TRUE(test::convert_model(dir, test::tiny_cfvit(1), trw::DType::Q8, c, err)) << err.message;
  const std::string text = report_json(c.report);
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  json j = json::parse(text);
  EXPECT_EQ(j["dtype"], "q8");
  EXPECT_EQ(j["arch"], "cfvit");
  EXPECT_EQ(j["file_size"], c.buf.span().size());
  EXPECT_EQ(j["tensors"].size(), c.file.tensors().size());
  EXPECT_EQ(j["tensors"][0]["name"], "stem.0.weight");
  EXPECT_EQ(j["tensors"][0]["type"], "q8");
  EXPECT_TRUE(j["tensors"][0]["snr_db"].is_number());
  EXPECT_EQ(j["tensors"][1]["name"], "stem.0.bias");
  EXPECT_FALSE(j["tensors"][1].contains("snr_db"));
  EXPECT_EQ(j["source_sha256"], meta_str(c.file, "source.sha256"));
  const std::string table = report_text(c.report);
  EXPECT_NE(table.find("blocks.1.mlp.fc2.weight"), std::string::npos);
  EXPECT_NE(table.find("output      " + dir.path("out.trw")), std::string::npos);
}

TEST(Convert, UnwritableOutputLeavesNothing) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_vit(9);
  ConvertOptions opt{test::write_model(dir, m), "", trw::DType::Q8, dir.path("no/such/dir/o.trw")};
  ConvertReport rep;
  Error err;
  ASSERT_FALSE(convert_checkpoint(opt, rep, err));
  EXPECT_EQ(err.code, Errc::Output);
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.dir())) files += e.is_regular_file();
  EXPECT_EQ(files, 2u);  // model.safetensors + config.json
}

}  // namespace
}  // namespace triage::convert
