// The CUDA backend's host-side logic, tested for real on any machine (no device needed): model support
// checks, the device memory plan, batch buckets, GEMM tile/shared-memory planning, the weight blob
// layout, classify argument validation and pixel staging, the cost model, and the C API's argument
// checks (which run before any device call).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/kernels.h"
#include "kernels/cuda/cost.h"
#include "kernels/cuda/gemm_tiles.h"
#include "kernels/cuda/kernels.h"
#include "runtime/cuda/plan.h"
#include "runtime/cuda/validate.h"
#include "runtime/cuda/weights.h"
#include "runtime/model_tensors.h"
#include "runtime/triage_cuda.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/runtime/random_model.h"
#include "tests/runtime/shipped_model.h"

namespace triage::rt::gpu {
namespace {

using test::RandomModelSpec;

constexpr int kSmemSm87 = 166912;  // cudaDevAttrMaxSharedMemoryPerBlockOptin of sm_87 (Orin)
constexpr int kSmemSm90 = 232448;  // of sm_90 (H100)

// A parsed model (config + tensors) from .trw bytes.
struct Parsed {
  trw::Buffer buf;
  trw::File file;
  ModelConfig cfg;
  ModelText text;
  ModelTensors t;
  bool ok = false;
  explicit Parsed(const std::vector<uint8_t>& bytes) {
    trw::Error te;
    Error err;
    ok = buf.assign(bytes, te) && file.parse(buf.span(), te) && load_config(file, cfg, text, err) &&
         bind_tensors(file, cfg, t, err);
  }
};

RandomModelSpec spec32() {  // head_dim 32: what the CUDA attention takes
  RandomModelSpec s;
  s.H = 2;
  return s;
}

// ---------------------------------------------------------------------------------------------
TEST(CudaHostPlan, SupportChecks) {
  Parsed ok(test::make_random_model(spec32()));
  ASSERT_TRUE(ok.ok);
  Error err;
  EXPECT_TRUE(check_model_support(ok.cfg, err)) << err.message;
  RandomModelSpec s = spec32();
  s.H = 4;  // head_dim 16
  Parsed hd16(test::make_random_model(s));
  ASSERT_TRUE(hd16.ok);
  EXPECT_FALSE(check_model_support(hd16.cfg, err));
  EXPECT_EQ(err.code, TRIAGE_E_UNSUPPORTED);
  EXPECT_NE(std::strstr(err.message, "head_dim 16"), nullptr) << err.message;
  s = spec32();
  s.Dr = 40;  // reuse hidden not a multiple of 16
  Parsed dr(test::make_random_model(s));
  ASSERT_TRUE(dr.ok);
  EXPECT_FALSE(check_model_support(dr.cfg, err));
  EXPECT_EQ(err.code, TRIAGE_E_UNSUPPORTED);
}

TEST(CudaHostPlan, ShippedConfigsAreSupported) {
  for (const std::string& name : test::shipped_models()) {
    const test::ShippedModel sm = test::shipped(name);
    const std::vector<uint8_t> bytes = sm.read_trw("q8");
    if (bytes.empty()) {
      std::printf("  %s: %s absent, skipped\n", name.c_str(), sm.trw("q8").c_str());
      continue;
    }
    Parsed p(bytes);
    ASSERT_TRUE(p.ok) << name;
    Error err;
    EXPECT_TRUE(check_model_support(p.cfg, err)) << name << ": " << err.message;
  }
}

void expect_layout_sane(const DevicePlan& p) {
  for (int b = 0; b < kBufCount; ++b) {
    EXPECT_EQ(p.offset[b] % kDeviceAlign, 0u) << buf_name(b);
    if (b + 1 < kBufCount) {
      EXPECT_LE(p.offset[b] + p.bytes[b], p.offset[b + 1]) << buf_name(b);
    }
  }
  EXPECT_LE(p.offset[kBufCount - 1] + p.bytes[kBufCount - 1], p.total);
  EXPECT_EQ(p.total % kDeviceAlign, 0u);
  // Upload block kDesc..kCtl and result block kCtl..kLogitsF are contiguous spans.
  EXPECT_EQ(p.upload_bytes(), p.offset[kCtl] + kCtlBytes);
  EXPECT_EQ(p.result_offset(), p.offset[kCtl]);
  EXPECT_LT(p.offset[kLogitsF], p.offset[kEsc]);
}

TEST(CudaHostPlan, SizesFollowTheModelAndOptions) {
  Parsed m(test::make_random_model(spec32()));
  ASSERT_TRUE(m.ok);
  const ModelConfig& c = m.cfg;
  PlanOptions o;
  o.max_batch = 8;
  o.max_image_bytes = 1 << 16;
  DevicePlan p;
  Error err;
  ASSERT_TRUE(plan_device(c, o, p, err)) << err.message;
  expect_layout_sane(p);
  const size_t B = 8, D = c.D, Nc = 1 + c.Gc, K = c.K, Nf = 1 + c.Gc + 3 * K, Nmax = std::max(Nc, Nf);
  EXPECT_EQ(p.n_coarse, int(Nc));
  EXPECT_EQ(p.n_fine, int(Nf));
  EXPECT_TRUE(p.fine);
  EXPECT_EQ(p.bytes[kDesc], B * kImageDescBytes);
  EXPECT_EQ(p.bytes[kPixels], B << 16);
  EXPECT_EQ(p.bytes[kImgC], B * c.Sc * c.Sc * c.C * 4);
  EXPECT_EQ(p.bytes[kX0], B * Nc * D * 4);
  EXPECT_EQ(p.bytes[kQkv], B * Nmax * 3 * D * 4);
  EXPECT_EQ(p.bytes[kHid], B * Nmax * c.hidden * 2);
  EXPECT_EQ(p.bytes[kClsProbs], size_t(c.R) * B * c.H * Nc * 4);
  EXPECT_EQ(p.bytes[kXf], B * Nf * D * 4);
  EXPECT_EQ(p.bytes[kR1], B * K * c.P * c.P * c.c1 * 4);
  EXPECT_EQ(p.bytes[kFgat], B * K * 4 * c.p * c.p * c.c2 * 2);
  EXPECT_EQ(p.bytes[kRowq], 0u);
  EXPECT_EQ(p.bytes[kLogitsF], B * c.ncls() * 4);

  // Forced coarse: no fine buffers at all; fine-all: K = Gc.
  o.force = TRIAGE_FORCE_COARSE;
  DevicePlan pc;
  ASSERT_TRUE(plan_device(c, o, pc, err));
  EXPECT_FALSE(pc.fine);
  EXPECT_EQ(pc.bytes[kXf] + pc.bytes[kR1] + pc.bytes[kImgF] + pc.bytes[kU] + pc.bytes[kOrder], 0u);
  EXPECT_LT(pc.total, p.total);
  o.force = TRIAGE_FORCE_FINE_ALL;
  DevicePlan pa;
  ASSERT_TRUE(plan_device(c, o, pa, err));
  EXPECT_EQ(pa.fine_k, c.Gc);
  EXPECT_EQ(pa.n_fine, 1 + 4 * c.Gc);
  // Row-quant staging only when asked for.
  o.force = TRIAGE_FORCE_NONE;
  o.rowq_staging = true;
  DevicePlan pr;
  ASSERT_TRUE(plan_device(c, o, pr, err));
  EXPECT_EQ(pr.bytes[kRowq], B * Nmax * std::max(c.hidden, c.Dr) * 4);
  // Device input only: no staging.
  o.max_image_bytes = 0;
  DevicePlan pd;
  ASSERT_TRUE(plan_device(c, o, pd, err));
  EXPECT_EQ(pd.bytes[kPixels], 0u);
}

// Token skipping (docs/model-family.md): the skip block's CLS attention, the patch positions and the kept
// sequence are planned; the fine pass's tokens follow keep_fine; without the keys none of them exist.
TEST(CudaHostPlan, TokenSkippingBuffers) {
  RandomModelSpec s = spec32();
  s.meta_i64 = {{"arch.keep_coarse", 7}, {"arch.skip_layer", 1}, {"arch.keep_fine", 3}};
  Parsed m(test::make_random_model(s));
  ASSERT_TRUE(m.ok);
  const ModelConfig& c = m.cfg;
  Error err;
  ASSERT_TRUE(check_model_support(c, err)) << err.message;
  PlanOptions o;
  o.max_batch = 4;
  o.max_image_bytes = 1 << 12;
  DevicePlan p;
  ASSERT_TRUE(plan_device(c, o, p, err)) << err.message;
  expect_layout_sane(p);
  const size_t B = 4, D = c.D, Nc = 1 + c.Gc;
  EXPECT_EQ(p.bytes[kSkipProbs], B * c.H * Nc * 4);
  EXPECT_EQ(p.bytes[kPos], B * c.Gc * 4);
  EXPECT_EQ(p.bytes[kXk], B * (7 + 2) * D * 4);
  EXPECT_EQ(p.n_fine, 1 + 4 * c.K + 3 + 1);
  Parsed plain(test::make_random_model(spec32()));
  DevicePlan pp;
  ASSERT_TRUE(plan_device(plain.cfg, o, pp, err));
  EXPECT_EQ(pp.bytes[kSkipProbs] + pp.bytes[kPos] + pp.bytes[kXk], 0u);
}

TEST(CudaHostPlan, VitPlanUsesTheSinglePassBuffers) {
  RandomModelSpec s = spec32();
  s.arch = "vit";
  s.Sf = 48;
  Parsed m(test::make_random_model(s));
  ASSERT_TRUE(m.ok);
  PlanOptions o;
  o.max_batch = 4;
  DevicePlan p;
  Error err;
  ASSERT_TRUE(plan_device(m.cfg, o, p, err)) << err.message;
  expect_layout_sane(p);
  EXPECT_FALSE(p.fine);
  EXPECT_EQ(p.n_coarse, 0);
  EXPECT_EQ(p.n_fine, 1 + m.cfg.Gf);
  EXPECT_EQ(p.bytes[kImgC] + p.bytes[kX0] + p.bytes[kClsProbs] + p.bytes[kLogitsC], 0u);
  EXPECT_EQ(p.bytes[kFgat], size_t(4) * m.cfg.Gf * m.cfg.P * m.cfg.P * m.cfg.C * 2);
}

TEST(CudaHostPlan, RefusesWhatTheGridsCannotCover) {
  Parsed m(test::make_random_model(spec32()));  // Gc = 16
  ASSERT_TRUE(m.ok);
  PlanOptions o;
  o.max_batch = 4096;
  o.force = TRIAGE_FORCE_FINE_ALL;  // 4096 x 16 regions > 65535
  DevicePlan p;
  Error err;
  EXPECT_FALSE(plan_device(m.cfg, o, p, err));
  EXPECT_EQ(err.code, TRIAGE_E_LIMIT);
  EXPECT_NE(std::strstr(err.message, "max_batch <= 4095"), nullptr) << err.message;
  o.force = TRIAGE_FORCE_FINE;  // 4096 x 4 fits
  EXPECT_TRUE(plan_device(m.cfg, o, p, err)) << err.message;
  o.max_batch = 0;
  EXPECT_FALSE(plan_device(m.cfg, o, p, err));
  EXPECT_EQ(err.code, TRIAGE_E_LIMIT);
  // Overflowing sizes are refused, not wrapped.
  ModelConfig huge = m.cfg;
  huge.Sc = 1 << 30;
  o.max_batch = 4096;
  o.max_image_bytes = size_t(1) << 40;
  EXPECT_FALSE(plan_device(huge, o, p, err));
  EXPECT_EQ(err.code, TRIAGE_E_LIMIT);
}

TEST(CudaHostPlan, BatchBuckets) {
  EXPECT_EQ(batch_buckets(1), (std::vector<int>{1}));
  EXPECT_EQ(batch_buckets(8), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(batch_buckets(12), (std::vector<int>{1, 2, 4, 8, 12}));
  EXPECT_EQ(batch_buckets(64).size(), 7u);
  EXPECT_EQ(batch_buckets(4096).size(), 13u);
  const std::vector<int> b = batch_buckets(12);
  EXPECT_EQ(bucket_for(b, 1), 1);
  EXPECT_EQ(bucket_for(b, 3), 4);
  EXPECT_EQ(bucket_for(b, 8), 8);
  EXPECT_EQ(bucket_for(b, 9), 12);
  EXPECT_EQ(bucket_for(b, 12), 12);
  EXPECT_EQ(bucket_for(b, 13), -1);
  for (int n = 1; n <= 64; ++n) {  // never more than twice the batch
    const int k = bucket_for(batch_buckets(64), n);
    EXPECT_GE(k, n);
    EXPECT_LT(k, 2 * n);
  }
}

// ---------------------------------------------------------------------------------------------
TEST(CudaHostGemm, ConfigAndSharedMemory) {
  using namespace triage::cuda;
  // The shipped models' widest re-quantised rows (MLP hidden 768, reuse 192) fit on both targets.
  for (int smem : {kSmemSm87, kSmemSm90}) {
    EXPECT_TRUE(gemm_rowq_fused(768, smem));
    EXPECT_TRUE(gemm_rowq_fused(192, smem));
    const GemmConfig c = gemm_config(GemmOut::Q8ROW, 768, 192, GemmType::Q8, smem);
    EXPECT_TRUE(c.rowq_fused);
    EXPECT_EQ(c.bm, 32);
    EXPECT_EQ(c.smem_bytes, size_t(3 * (32 + 64) * 80 + 32 * (768 + 4) * 4));
    EXPECT_LE(c.smem_bytes, size_t(smem));
  }
  // Wider rows: fused on sm_90 up to its limit, staged + quantised beyond.
  EXPECT_TRUE(gemm_rowq_fused(1536, kSmemSm90));
  EXPECT_FALSE(gemm_rowq_fused(1536, kSmemSm87));
  EXPECT_FALSE(gemm_rowq_fused(4096, kSmemSm90));
  EXPECT_FALSE(gemm_rowq_fused(768, 48 * 1024));
  const GemmConfig f = gemm_config(GemmOut::F32, 576, 192, GemmType::BF16, kSmemSm87);
  EXPECT_FALSE(f.rowq_fused);
  EXPECT_EQ(f.bm, 64);
  EXPECT_EQ(f.smem_bytes, size_t(3 * (64 + 64) * 80));
  EXPECT_LE(f.smem_bytes, size_t(48 * 1024));  // no opt-in needed
  // Independent of M by construction (no M argument): results cannot depend on the batch.
}

TEST(CudaHostGemm, ArgumentChecks) {
  using namespace triage::cuda;
  alignas(16) static int8_t a[64 * 64], w[64 * 64];
  alignas(16) static float y[64 * 64], s[64];
  GemmArgs g;
  g.type = GemmType::Q8;
  g.a = a;
  g.lda = 64;
  g.a_scale = s;
  g.w = w;
  g.w_scale = s;
  g.M = 64;
  g.N = 64;
  g.K = 64;
  g.y = y;
  g.ldy = 64;
  EXPECT_EQ(gemm_check(g), nullptr);
  GemmArgs b = g;
  b.K = 40;  // 40 bytes: not a multiple of 16
  b.lda = 40;
  EXPECT_NE(gemm_check(b), nullptr);
  b = g;
  b.a = a + 1;  // misaligned
  EXPECT_NE(gemm_check(b), nullptr);
  b = g;
  b.w_scale = nullptr;
  EXPECT_NE(gemm_check(b), nullptr);
  b = g;
  b.out = GemmOut::Q8ROW;
  EXPECT_NE(gemm_check(b), nullptr);  // no yq
  b = g;
  b.type = GemmType::BF16;
  b.K = 24;  // 48 bytes: fine for bf16
  b.lda = 24;
  EXPECT_EQ(gemm_check(b), nullptr);
  b.lda = 20;  // lda < K
  EXPECT_NE(gemm_check(b), nullptr);
}

// ---------------------------------------------------------------------------------------------
TEST(CudaHostWeights, BlobHoldsTheFileValuesInKernelLayouts) {
  for (const char* dtype : {"f32", "q8"}) {
    SCOPED_TRACE(dtype);
    RandomModelSpec s = spec32();
    s.dtype = dtype;
    Parsed m(test::make_random_model(s));
    ASSERT_TRUE(m.ok);
    DevWeights w;
    std::vector<uint8_t> blob;
    Error err;
    ASSERT_TRUE(pack_device_weights(m.cfg, m.t, w, blob, err)) << err.message;
    EXPECT_EQ(blob.size(), w.bytes);
    EXPECT_EQ(w.bytes % 256, 0u);
    const bool q8 = std::string(dtype) == "q8";
    const DevLinear& qkv = w.blocks[1].qkv;
    EXPECT_EQ(qkv.q8, q8);
    EXPECT_EQ(qkv.n, 3 * m.cfg.D);
    EXPECT_EQ(qkv.k, m.cfg.D);
    EXPECT_EQ(qkv.w % 256, 0u);
    const trw::TensorView& tv = *m.t.blocks[1].qkv.w;
    if (q8) {
      EXPECT_EQ(0, std::memcmp(blob.data() + qkv.w, tv.data, size_t(qkv.n) * qkv.k));
      EXPECT_EQ(0, std::memcmp(blob.data() + qkv.scale, tv.scales, size_t(qkv.n) * 4));
    } else {
      const std::vector<float> f = tensor_to_f32(tv);
      const uint16_t* h = reinterpret_cast<const uint16_t*>(blob.data() + qkv.w);
      for (size_t i = 0; i < f.size(); ++i) ASSERT_EQ(h[i], trw::f32_to_bf16(f[i])) << i;
    }
    const std::vector<float> bias = tensor_to_f32(*m.t.blocks[1].qkv.b);
    EXPECT_EQ(0, std::memcmp(blob.data() + qkv.bias, bias.data(), bias.size() * 4));
    // Stem conv in the CPU packing, patch weights repacked (ky, kx, c) in bf16.
    std::vector<float> cp(kernels::conv3x3s2_packed_floats(m.cfg.c2, m.cfg.c1));
    kernels::conv3x3s2_pack_f32(tensor_to_f32(*m.t.stem1_w).data(), m.cfg.c2, m.cfg.c1, cp.data());
    EXPECT_EQ(0, std::memcmp(blob.data() + w.stem1_w, cp.data(), cp.size() * 4));
    const std::vector<float> pw = tensor_to_f32(*m.t.patch_w);
    std::vector<float> re(pw.size());
    kernels::patch_weight_repack_f32(pw.data(), m.cfg.D, m.cfg.c2, m.cfg.p, re.data());
    EXPECT_FALSE(w.patch.q8);
    EXPECT_EQ(w.patch.k, m.cfg.p * m.cfg.p * m.cfg.c2);
    const uint16_t* ph = reinterpret_cast<const uint16_t*>(blob.data() + w.patch.w);
    for (size_t i = 0; i < re.size(); ++i) ASSERT_EQ(ph[i], trw::f32_to_bf16(re[i])) << i;
    const std::vector<float> pos = tensor_to_f32(*m.t.pos_fine);
    EXPECT_EQ(0, std::memcmp(blob.data() + w.pos_fine, pos.data(), pos.size() * 4));
  }
}

// ---------------------------------------------------------------------------------------------
triage_image img(const void* data, uint32_t pixel, uint32_t h, uint32_t w, uint32_t c, size_t stride) {
  triage_image v{};
  v.data = data;
  v.pixel = pixel;
  v.height = h;
  v.width = w;
  v.channels = c;
  v.row_stride = stride;
  return v;
}

TEST(CudaHostValidate, ImageChecksAndStagingCap) {
  alignas(4) static uint8_t px[4096];
  Error err;
  EXPECT_TRUE(check_image(img(px, 1, 10, 10, 1, 10), 0, 1, false, 100, err)) << err.message;
  EXPECT_FALSE(check_image(img(px, 1, 10, 11, 1, 11), 0, 1, false, 100, err));  // 110 > 100 staged bytes
  EXPECT_EQ(err.code, TRIAGE_E_LIMIT);
  EXPECT_NE(std::strstr(err.message, "max_image_bytes"), nullptr);
  EXPECT_TRUE(check_image(img(px, 1, 10, 11, 1, 11), 0, 1, true, 0, err));  // device input: no staging cap
  EXPECT_FALSE(check_image(img(nullptr, 1, 1, 1, 1, 1), 0, 1, false, 100, err));
  EXPECT_EQ(err.code, TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_FALSE(check_image(img(px, 3, 1, 1, 1, 1), 0, 1, false, 100, err));
  EXPECT_FALSE(check_image(img(px, 1, 0, 1, 1, 1), 0, 1, false, 100, err));
  EXPECT_FALSE(check_image(img(px, 1, 20000, 1, 1, 1), 0, 1, true, 0, err));
  EXPECT_EQ(err.code, TRIAGE_E_LIMIT);
  EXPECT_FALSE(check_image(img(px, 1, 2, 2, 3, 6), 0, 1, false, 100, err));  // channels
  EXPECT_FALSE(check_image(img(px, 2, 2, 4, 1, 6), 0, 1, false, 100, err));  // stride < 8 bytes
  EXPECT_FALSE(check_image(img(px + 1, 2, 2, 2, 1, 4), 0, 1, false, 100, err));  // misaligned u16
  EXPECT_FALSE(check_image(img(px, 2, 2, 2, 1, 5), 0, 1, false, 100, err));      // odd u16 stride
  EXPECT_TRUE(check_image(img(px, 2, 2, 2, 1, 4), 0, 1, false, 100, err));
}

TEST(CudaHostValidate, PackedRowsAndSlots) {
  std::vector<uint16_t> src(3 * 8);  // 3 rows of 5 u16 samples, stride 16 bytes
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i);
  const triage_image v = img(src.data(), 2, 3, 5, 1, 16);
  EXPECT_EQ(packed_image_bytes(v), 30u);
  std::vector<uint16_t> dst(15);
  pack_image_rows(v, reinterpret_cast<uint8_t*>(dst.data()));
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) EXPECT_EQ(dst[y * 5 + x], src[y * 8 + x]);
  EXPECT_EQ(staging_slot_bytes(0), 0u);
  EXPECT_EQ(staging_slot_bytes(1), 256u);
  EXPECT_EQ(staging_slot_bytes(4u << 20), 4u << 20);
}

// ---------------------------------------------------------------------------------------------
TEST(CudaHostCost, RooflineCounts) {
  namespace c = triage::cuda::cost;
  const c::Cost g = c::gemm(400, 576, 192, 1, 4, false, true);
  EXPECT_DOUBLE_EQ(g.ops, 2.0 * 400 * 576 * 192);
  EXPECT_DOUBLE_EQ(g.bytes, 400.0 * 192 + 576.0 * 192 + 400.0 * 576 * 4 + 576 * 4 + (400 + 576) * 4);
  const c::Cost a = c::attention(8, 3, 50, 64, 4);
  EXPECT_DOUBLE_EQ(a.ops, 8.0 * 3 * 4 * 50 * 50 * 64);
  const c::Cost v = c::conv3x3s2(1, 112, 112, 1, 24, 4);
  EXPECT_DOUBLE_EQ(v.ops, 56.0 * 56 * 24 * 9 * 2);
}

// ---------------------------------------------------------------------------------------------
// C API argument checks that run before any device call (so they are exercised here too).
TEST(CudaHostCapi, ArgumentChecksNeedNoDevice) {
  triage_cuda_options o;
  triage_cuda_options_init(&o);
  EXPECT_EQ(o.struct_size, sizeof(o));
  EXPECT_EQ(o.max_batch, 1u);
  EXPECT_EQ(o.max_image_bytes, 4u << 20);
  triage_cuda_model* m = reinterpret_cast<triage_cuda_model*>(1);
  EXPECT_EQ(triage_cuda_open_memory(nullptr, 10, &o, &m), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  EXPECT_STRNE(triage_cuda_open_error(), "");
  const std::vector<uint8_t> bytes = test::make_random_model(spec32());
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &o, nullptr), TRIAGE_E_INVALID_ARGUMENT);
  triage_cuda_options bad = o;
  bad.struct_size = 4;
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &bad, &m), TRIAGE_E_INVALID_ARGUMENT);
  bad = o;
  bad.max_batch = 0;
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &bad, &m), TRIAGE_E_INVALID_ARGUMENT);
  bad.max_batch = TRIAGE_MAX_BATCH + 1;
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &bad, &m), TRIAGE_E_LIMIT);
  bad = o;
  bad.reserved = 1;
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &bad, &m), TRIAGE_E_INVALID_ARGUMENT);
  bad = o;
  bad.flags = 0x80;
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &bad, &m), TRIAGE_E_INVALID_ARGUMENT);
  bad = o;
  bad.force = 9;
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &bad, &m), TRIAGE_E_INVALID_ARGUMENT);
  bad = o;
  bad.device = -1;
  EXPECT_EQ(triage_cuda_open_memory(bytes.data(), bytes.size(), &bad, &m), TRIAGE_E_INVALID_ARGUMENT);
  // A malformed file and an unsupported model fail on the host, with the reason.
  std::vector<uint8_t> broken = bytes;
  broken[0] ^= 0xFF;
  EXPECT_EQ(triage_cuda_open_memory(broken.data(), broken.size(), &o, &m), TRIAGE_E_FORMAT);
  RandomModelSpec s = spec32();
  s.H = 4;
  const std::vector<uint8_t> hd16 = test::make_random_model(s);
  EXPECT_EQ(triage_cuda_open_memory(hd16.data(), hd16.size(), &o, &m), TRIAGE_E_UNSUPPORTED);
  EXPECT_NE(std::strstr(triage_cuda_open_error(), "head_dim"), nullptr) << triage_cuda_open_error();
  EXPECT_EQ(triage_cuda_open_file("/nonexistent/model.trw", &o, &m), TRIAGE_E_IO);
  // Calls on a NULL handle.
  triage_result r;
  triage_image v{};
  EXPECT_EQ(triage_cuda_classify(nullptr, &v, &r), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_cuda_get_info(nullptr, nullptr), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_STREQ(triage_cuda_last_error(nullptr), "model is NULL");
  triage_cuda_close(nullptr);
}

TEST(CudaHostCapi, WithoutADeviceOpenFailsWithAReason) {
  std::string why;
  if (triage::cuda::test::have_device(&why)) GTEST_SKIP() << "a CUDA device is present (tested by CudaEngine.*)";
  EXPECT_EQ(triage_cuda_device_count(), 0);
  triage_cuda_options o;
  triage_cuda_options_init(&o);
  const std::vector<uint8_t> bytes = test::make_random_model(spec32());
  triage_cuda_model* m = nullptr;
  const triage_status st = triage_cuda_open_memory(bytes.data(), bytes.size(), &o, &m);
  EXPECT_NE(st, TRIAGE_OK);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::strstr(triage_cuda_open_error(), "CUDA"), nullptr) << triage_cuda_open_error();
  std::printf("  open without a device: %s: %s\n", triage_status_name(st), triage_cuda_open_error());
}

}  // namespace
}  // namespace triage::rt::gpu
