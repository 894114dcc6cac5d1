// Every CUDA kernel against the CPU scalar references (kernels/cpu, Isa::Scalar; runtime oracle/router),
// on seeded random data, with outputs poisoned (NaN / -128) before each run so an unwritten element
// fails, every launch's status and completion checked.
//
// Tolerances (norm-wise relative error ||gpu - ref|| / ||ref|| unless stated):
//   q8 GEMM f32 outputs without GELU: 1e-6 (the int32 accumulation is exact and the epilogue is the
//     reference's operations in its order: bit-identical expected); with GELU 1e-6 (erff vs std::erf);
//     Q8ROW: equal int8 except <= 1 step on <= 0.5% of elements with GELU (exact without), scales 1e-6.
//   bf16 GEMM, operands rounded to bf16 on the host and fed to the f32 reference: 1e-4 (f32
//     accumulation on the tensor cores in another order); any bf16 output: 4e-3 (one bf16 rounding:
//     about 1.6e-3 norm-wise expected, 2^-8 relative at most per element).
//   LayerNorm f32: 2e-6; bf16 4e-3; Q8: <= 1 step on <= 1% of elements (statistics reduced in another order),
//     scales 1e-5; plain quantisation (same input, same ops): exact.
//   attention f32 and CLS rows: 1e-5 (exp implementations, summation order); bf16 out: 4e-3.
//   resize, stem convolution, patch gather, tokens, ranking, selection, scatter: exact (the same f32
//     operations, explicitly rounded; the convolution is checked to 1e-6 and its exact-match count
//     printed); router flags: equal to rt::decide_coarse on every image.
#include <algorithm>
#include <cstdlib>
#include <memory>

#include "kernels/cpu/kernels.h"
#include "kernels/cuda/kernels.h"
#include "runtime/oracle_forward.h"
#include "runtime/router.h"
#include "tests/cuda/cuda_test_util.h"

namespace triage::cuda::test {
namespace {

namespace kc = triage::kernels;

// 64-byte aligned host memory for the CPU packers.
struct HostAligned {
  explicit HostAligned(size_t bytes) : p(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64))) {
    std::memset(p, 0, (bytes + 63) / 64 * 64 + 64);
  }
  ~HostAligned() { std::free(p); }
  uint8_t* p;
};

class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    TRIAGE_REQUIRE_CUDA();
    CUDA_OK(cudaSetDevice(0));
    int dev = 0;
    CUDA_OK(cudaGetDevice(&dev));
    CUDA_OK(cudaDeviceGetAttribute(&optin_, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    CUDA_OK(kernels_init(optin_));
  }
  int optin_ = 0;
};

// ---------------------------------------------------------------------------------------------
// GEMM

struct Shape {
  int m, n, k;
};
const Shape kGemmShapes[] = {{1, 7, 64},    {5, 16, 16},    {50, 192, 192}, {65, 100, 48}, {137, 576, 192},
                             {86, 768, 192}, {197, 192, 768}, {400, 768, 192}, {29, 9, 128}};
const GemmOut kOuts[] = {GemmOut::F32, GemmOut::F32_ACC, GemmOut::BF16, GemmOut::Q8ROW};

struct Ref {
  std::vector<float> y;
  std::vector<int8_t> yq;
  std::vector<float> yqs;
};

// CPU scalar reference of one GEMM (q8: int8 x, w; else f32 x, w already rounded to bf16).
Ref cpu_gemm(bool q8, const Shape& s, const std::vector<int8_t>& xi, const std::vector<float>& xs,
             const std::vector<int8_t>& wi, const std::vector<float>& ws, const std::vector<float>& xf,
             const std::vector<float>& wf, const std::vector<float>& bias, bool gelu, GemmOut out,
             const std::vector<float>& resid) {
  Ref r;
  r.y = resid;
  r.yq.assign(size_t(s.m) * s.n, 0);
  r.yqs.assign(s.m, 0.f);
  kc::GemmEpilogue ep;
  ep.bias = bias.data();
  ep.gelu = gelu;
  ep.accumulate = out == GemmOut::F32_ACC;
  ep.y = r.y.data();
  ep.ldy = s.n;
  if (out == GemmOut::Q8ROW) {
    ep.y = nullptr;
    ep.yq = r.yq.data();
    ep.ldyq = s.n;
    ep.yq_scale = r.yqs.data();
  }
  if (q8) {
    HostAligned pk(kc::gemm_q8_packed_bytes(kc::Isa::Scalar, s.n, s.k));
    const kc::PackedQ8 p = kc::gemm_q8_pack(kc::Isa::Scalar, wi.data(), ws.data(), s.n, s.k, s.k, pk.p);
    std::vector<float> scratch(kc::gemm_q8_scratch_floats(p) + 1);
    kc::gemm_q8(p, xi.data(), s.k, xs.data(), ep, 0, s.m, 0, s.n, scratch.data());
  } else {
    HostAligned pk(kc::gemm_f32_packed_bytes(kc::Isa::Scalar, s.n, s.k));
    const kc::PackedF32 p = kc::gemm_f32_pack(kc::Isa::Scalar, wf.data(), s.n, s.k, s.k, pk.p);
    std::vector<float> scratch(kc::gemm_f32_scratch_floats(p) + 1);
    kc::gemm_f32(p, xf.data(), s.k, ep, 0, s.m, 0, s.n, scratch.data());
  }
  return r;
}

void check_gemm(bool q8, const Shape& s, GemmOut out, bool gelu, int live_rows, int smem_optin, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << (q8 ? "q8" : "bf16") << " M=" << s.m << " N=" << s.n << " K=" << s.k
                                  << " out=" << int(out) << " gelu=" << gelu << " live=" << live_rows);
  const size_t MK = size_t(s.m) * s.k, NK = size_t(s.n) * s.k, MN = size_t(s.m) * s.n;
  std::vector<int8_t> xi, wi;
  std::vector<float> xs, ws, xf, wf;
  std::vector<uint16_t> xb, wb;
  if (q8) {
    xi = rand_i8(MK, seed);
    wi = rand_i8(NK, seed + 1);
    xs = rand_f32(s.m, seed + 2, 0.001f, 0.02f);
    ws = rand_f32(s.n, seed + 3, 0.001f, 0.02f);
  } else {
    xb = to_bf16(rand_f32(MK, seed, -2.f, 2.f));
    wb = to_bf16(rand_f32(NK, seed + 1, -0.2f, 0.2f));
    xf = from_bf16(xb);
    wf = from_bf16(wb);
  }
  const std::vector<float> bias = rand_f32(s.n, seed + 4, -0.5f, 0.5f);
  const std::vector<float> resid = rand_f32(MN, seed + 5);
  const Ref ref = cpu_gemm(q8, s, xi, xs, wi, ws, xf, wf, bias, gelu, out, resid);

  DevBuf<uint8_t> da(q8 ? MK : 2 * MK), dw(q8 ? NK : 2 * NK);
  DevBuf<float> dxs(s.m), dws(s.n), dbias(s.n), dy(MN), dyqs(s.m), dstage(MN);
  DevBuf<uint16_t> dyb(MN);
  DevBuf<int8_t> dyq(MN);
  DevBuf<int32_t> dcount(1);
  ASSERT_TRUE(da.p && dw.p && dy.p && dyq.p && dyb.p && dcount.p);
  if (q8) {
    CUDA_OK(cudaMemcpy(da.p, xi.data(), MK, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dw.p, wi.data(), NK, cudaMemcpyHostToDevice));
    CUDA_OK(dxs.up(xs));
    CUDA_OK(dws.up(ws));
  } else {
    CUDA_OK(cudaMemcpy(da.p, xb.data(), 2 * MK, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dw.p, wb.data(), 2 * NK, cudaMemcpyHostToDevice));
  }
  CUDA_OK(dbias.up(bias));
  if (out == GemmOut::F32_ACC) CUDA_OK(dy.up(resid));
  else CUDA_OK(dy.poison());
  CUDA_OK(dyb.poison());
  CUDA_OK(dyq.poison(0x80));
  CUDA_OK(dyqs.poison());
  CUDA_OK(dstage.poison());

  GemmArgs g;
  g.type = q8 ? GemmType::Q8 : GemmType::BF16;
  g.a = da.p;
  g.lda = s.k;
  g.a_scale = q8 ? dxs.p : nullptr;
  g.w = dw.p;
  g.w_scale = q8 ? dws.p : nullptr;
  g.bias = dbias.p;
  g.M = s.m;
  g.N = s.n;
  g.K = s.k;
  g.gelu = gelu;
  g.out = out;
  g.y = dy.p;
  g.ldy = s.n;
  g.yb = dyb.p;
  g.ldyb = s.n;
  g.yq = dyq.p;
  g.ldyq = s.n;
  g.yq_scale = dyqs.p;
  g.rowq_staging = dstage.p;
  g.smem_optin = smem_optin;
  const int live = live_rows > 0 ? live_rows : s.m;
  if (live_rows > 0) {
    // live = count * per with per = 1
    CUDA_OK(dcount.up({live_rows}));
    g.rows = {dcount.p, 1};
  }
  ASSERT_EQ(gemm_check(g), nullptr);
  LAUNCH_OK(gemm(g, nullptr));

  const size_t LN = size_t(live) * s.n;
  if (out == GemmOut::F32 || out == GemmOut::F32_ACC) {
    std::vector<float> y;
    CUDA_OK(dy.down(y));
    const double e = rel_err(y.data(), ref.y.data(), LN);
    EXPECT_LT(e, q8 ? 1e-6 : 1e-4);
    if (out == GemmOut::F32) {
      for (size_t i = LN; i < MN; ++i) {  // rows past the live count are not written
        ASSERT_TRUE(std::isnan(y[i])) << "row " << i / s.n << " written past the live count";
      }
    }
  } else if (out == GemmOut::BF16) {
    std::vector<uint16_t> yb;
    CUDA_OK(dyb.down(yb));
    const std::vector<float> y = from_bf16(yb);
    EXPECT_LT(rel_err(y.data(), ref.y.data(), LN), 4e-3);
    for (size_t i = LN; i < MN; ++i) ASSERT_EQ(yb[i], 0xFFFF) << "written past the live count";
  } else {
    std::vector<int8_t> yq;
    std::vector<float> yqs;
    CUDA_OK(dyq.down(yq));
    CUDA_OK(dyqs.down(yqs));
    size_t off = 0;
    int worst = 0;
    for (size_t i = 0; i < LN; ++i) {
      const int d = std::abs(int(yq[i]) - int(ref.yq[i]));
      off += d != 0;
      worst = std::max(worst, d);
    }
    if (q8 && !gelu) {
      EXPECT_EQ(off, 0u);
    }
    EXPECT_LE(worst, 1);
    EXPECT_LE(double(off), 0.005 * double(LN) + 1);
    EXPECT_LT(rel_err(yqs.data(), ref.yqs.data(), live), q8 ? 1e-6 : 1e-4);
    for (size_t i = LN; i < MN; ++i) ASSERT_EQ(yq[i], int8_t(-128)) << "written past the live count";
  }
}

TEST_F(CudaKernels, GemmQ8MatchesScalarReference) {
  uint32_t seed = 100;
  for (const Shape& s : kGemmShapes)
    for (GemmOut o : kOuts)
      for (bool gelu : {false, true}) check_gemm(true, s, o, gelu, 0, optin_, seed += 10);
}

TEST_F(CudaKernels, GemmBf16MatchesScalarReference) {
  uint32_t seed = 200;
  for (const Shape& s : kGemmShapes)
    for (GemmOut o : kOuts)
      for (bool gelu : {false, true}) check_gemm(false, s, o, gelu, 0, optin_, seed += 10);
}

TEST_F(CudaKernels, GemmLiveRowCountFromDeviceMemory) {
  for (bool q8 : {true, false})
    for (GemmOut o : kOuts) check_gemm(q8, {137, 576, 192}, o, true, 77, optin_, 300);
}

TEST_F(CudaKernels, GemmRowQuantFallbackWhenRowsExceedSharedMemory) {
  // A 48 KB limit makes every Q8ROW use the f32 staging + quantise pass.
  ASSERT_FALSE(gemm_rowq_fused(768, 48 * 1024));
  for (bool q8 : {true, false}) {
    check_gemm(q8, {86, 768, 192}, GemmOut::Q8ROW, true, 0, 48 * 1024, 400);
    check_gemm(q8, {86, 768, 192}, GemmOut::Q8ROW, false, 50, 48 * 1024, 410);
  }
}

// ---------------------------------------------------------------------------------------------
// LayerNorm / row conversion

TEST_F(CudaKernels, LayerNormRowsMatchScalarReference) {
  uint32_t seed = 500;
  for (int dim : {64, 192, 768}) {
    const int R = 300;
    SCOPED_TRACE(testing::Message() << "dim " << dim);
    const std::vector<float> x = rand_f32(size_t(R) * dim, seed++, -3.f, 5.f);
    const std::vector<float> g = rand_f32(dim, seed++, 0.5f, 1.5f), b = rand_f32(dim, seed++, -0.3f, 0.3f);
    std::vector<float> ref(size_t(R) * dim), refs(R), qs(R);
    std::vector<int8_t> refq(size_t(R) * dim), q(size_t(R) * dim);
    kc::layernorm_f32(kc::Isa::Scalar, x.data(), dim, R, dim, g.data(), b.data(), 1e-6f, ref.data(), dim);
    kc::layernorm_quant_q8(kc::Isa::Scalar, x.data(), dim, R, dim, g.data(), b.data(), 1e-6f, refq.data(), dim, refs.data());
    kc::quantize_rows_q8(kc::Isa::Scalar, x.data(), dim, R, dim, q.data(), dim, qs.data());
    DevBuf<float> dx(x.size()), dg(dim), db(dim), dy(x.size()), dys(R);
    DevBuf<uint16_t> dyb(x.size());
    DevBuf<int8_t> dyq(x.size());
    CUDA_OK(dx.up(x));
    CUDA_OK(dg.up(g));
    CUDA_OK(db.up(b));
    RowArgs a;
    a.x = dx.p;
    a.in.ld = dim;
    a.rows = R;
    a.dim = dim;
    a.gamma = dg.p;
    a.beta = db.p;
    a.eps = 1e-6f;
    a.ldy = dim;
    a.y_scale = dys.p;
    // f32
    CUDA_OK(dy.poison());
    a.out = RowOut::F32;
    a.y = dy.p;
    LAUNCH_OK(layernorm_rows(a, nullptr));
    std::vector<float> y;
    CUDA_OK(dy.down(y));
    EXPECT_LT(rel_err(y, ref), 2e-6);
    // bf16
    CUDA_OK(dyb.poison());
    a.out = RowOut::BF16;
    a.y = dyb.p;
    LAUNCH_OK(layernorm_rows(a, nullptr));
    std::vector<uint16_t> yb;
    CUDA_OK(dyb.down(yb));
    EXPECT_LT(rel_err(from_bf16(yb), ref), 4e-3);
    // q8
    CUDA_OK(dyq.poison(0x80));
    CUDA_OK(dys.poison());
    a.out = RowOut::Q8;
    a.y = dyq.p;
    LAUNCH_OK(layernorm_rows(a, nullptr));
    std::vector<int8_t> yq;
    std::vector<float> ys;
    CUDA_OK(dyq.down(yq));
    CUDA_OK(dys.down(ys));
    size_t off = 0;
    for (size_t i = 0; i < yq.size(); ++i) {
      ASSERT_LE(std::abs(int(yq[i]) - int(refq[i])), 1) << "element " << i;
      off += yq[i] != refq[i];
    }
    EXPECT_LE(double(off), 0.01 * double(yq.size()));
    EXPECT_LT(rel_err(ys, refs), 1e-5);
    // plain quantisation (no norm): the same operations on the same input
    CUDA_OK(dyq.poison(0x80));
    a.norm = false;
    LAUNCH_OK(layernorm_rows(a, nullptr));
    CUDA_OK(dyq.down(yq));
    CUDA_OK(dys.down(ys));
    EXPECT_EQ(0, std::memcmp(yq.data(), q.data(), q.size()));
    EXPECT_EQ(0, std::memcmp(ys.data(), qs.data(), qs.size() * sizeof(float)));
    a.norm = true;
  }
}

TEST_F(CudaKernels, LayerNormRowMapGathersMappedGroups) {
  // The fine pass's reuse input: rows 1..G of images map[e] in a [images, 1+G, D] stream.
  const int D = 192, G = 49, N = 1 + G, images = 6, slots = 3;
  const std::vector<int32_t> map = {4, 1, 5};
  const std::vector<float> x = rand_f32(size_t(images) * N * D, 600, -2.f, 2.f);
  const std::vector<float> g = rand_f32(D, 601, 0.5f, 1.5f), b = rand_f32(D, 602);
  std::vector<float> ref(size_t(slots) * G * D);
  for (int e = 0; e < slots; ++e)
    kc::layernorm_f32(kc::Isa::Scalar, x.data() + (size_t(map[e]) * N + 1) * D, D, G, D, g.data(), b.data(), 1e-6f,
                      ref.data() + size_t(e) * G * D, D);
  DevBuf<float> dx(x.size()), dg(D), db(D), dy(ref.size());
  DevBuf<int32_t> dmap(slots), dcount(1);
  CUDA_OK(dx.up(x));
  CUDA_OK(dg.up(g));
  CUDA_OK(db.up(b));
  CUDA_OK(dmap.up(map));
  CUDA_OK(dcount.up({2}));  // live slots: 2 of 3
  CUDA_OK(dy.poison());
  RowArgs a;
  a.x = dx.p;
  a.in.ld = D;
  a.in.per = G;
  a.in.group_stride = int64_t(N) * D;
  a.in.off = 1;
  a.in.map = dmap.p;
  a.rows = slots * G;
  a.live = {dcount.p, G};
  a.dim = D;
  a.gamma = dg.p;
  a.beta = db.p;
  a.out = RowOut::F32;
  a.y = dy.p;
  a.ldy = D;
  LAUNCH_OK(layernorm_rows(a, nullptr));
  std::vector<float> y;
  CUDA_OK(dy.down(y));
  EXPECT_LT(rel_err(y.data(), ref.data(), size_t(2) * G * D), 2e-6);
  for (size_t i = size_t(2) * G * D; i < y.size(); ++i) ASSERT_TRUE(std::isnan(y[i]));
}

// ---------------------------------------------------------------------------------------------
// Attention

TEST_F(CudaKernels, AttentionMatchesScalarReference) {
  struct Case {
    int n, D, H;
  };
  uint32_t seed = 700;
  for (const Case& c : {Case{17, 128, 4}, Case{29, 128, 4}, Case{65, 128, 4}, Case{50, 192, 3}, Case{86, 192, 3},
                        Case{197, 192, 3}, Case{33, 64, 1}})
    for (bool bf16 : {false, true}) {
      SCOPED_TRACE(testing::Message() << "n " << c.n << " D " << c.D << " H " << c.H << " bf16 " << bf16);
      const int images = 3, live = 2, hd = c.D / c.H;
      const std::vector<float> qkv = rand_f32(size_t(images) * c.n * 3 * c.D, seed++, -2.f, 2.f);
      const float scale = static_cast<float>(1.0 / std::sqrt(double(hd)));
      std::vector<float> ref(size_t(images) * c.n * c.D), refp(size_t(images) * c.H * c.n);
      std::vector<float> scratch(kc::attention_scratch_floats(kc::Isa::Scalar, c.n, hd) + 1);
      for (int i = 0; i < images; ++i)
        for (int h = 0; h < c.H; ++h) {
          kc::AttentionArgs a;
          a.qkv = qkv.data() + size_t(i) * c.n * 3 * c.D;
          a.ld_qkv = 3 * c.D;
          a.n_tokens = c.n;
          a.dim = c.D;
          a.heads = c.H;
          a.scale = scale;
          a.out = ref.data() + size_t(i) * c.n * c.D;
          a.ld_out = c.D;
          a.cls_probs = refp.data() + (size_t(i) * c.H + h) * c.n;
          kc::attention_f32(kc::Isa::Scalar, a, h, 0, c.n, scratch.data());
        }
      DevBuf<float> dqkv(qkv.size()), dout(ref.size()), dp(refp.size());
      DevBuf<uint16_t> doutb(ref.size());
      DevBuf<int32_t> dcount(1);
      CUDA_OK(dqkv.up(qkv));
      CUDA_OK(dout.poison());
      CUDA_OK(doutb.poison());
      CUDA_OK(dp.poison());
      CUDA_OK(dcount.up({live}));
      AttentionArgs a;
      a.qkv = dqkv.p;
      a.n_tokens = c.n;
      a.dim = c.D;
      a.heads = c.H;
      a.scale = scale;
      a.images = images;
      a.live = {dcount.p, 1};
      a.out = bf16 ? static_cast<void*>(doutb.p) : dout.p;
      a.out_bf16 = bf16;
      a.cls_probs = dp.p;
      ASSERT_TRUE(attention_supported(hd));
      LAUNCH_OK(attention(a, nullptr));
      const size_t L = size_t(live) * c.n * c.D, LP = size_t(live) * c.H * c.n;
      std::vector<float> out, p;
      if (bf16) {
        std::vector<uint16_t> ob;
        CUDA_OK(doutb.down(ob));
        out = from_bf16(ob);
        EXPECT_LT(rel_err(out.data(), ref.data(), L), 4e-3);
      } else {
        CUDA_OK(dout.down(out));
        EXPECT_LT(rel_err(out.data(), ref.data(), L), 1e-5);
      }
      for (size_t i = L; i < out.size(); ++i) ASSERT_TRUE(std::isnan(out[i])) << "image past the live count written";
      CUDA_OK(dp.down(p));
      EXPECT_LT(rel_err(p.data(), refp.data(), LP), 1e-5);
    }
}

// ---------------------------------------------------------------------------------------------
// Stem convolution, patch gather, resize

struct ConvCase {
  int h, cin, cout, pk;  // pk > 0: patch output
};

TEST_F(CudaKernels, Conv3x3s2MatchesScalarReference) {
  uint32_t seed = 800;
  for (const ConvCase& c : {ConvCase{112, 1, 24, 0}, ConvCase{56, 24, 48, 4}, ConvCase{32, 1, 16, 0},
                            ConvCase{16, 16, 32, 2}, ConvCase{7, 3, 5, 0}, ConvCase{9, 8, 12, 0}}) {
    SCOPED_TRACE(testing::Message() << "h " << c.h << " cin " << c.cin << " cout " << c.cout << " pk " << c.pk);
    const int Z = 3, live = 2, ho = (c.h + 1) / 2;
    const std::vector<float> in = rand_f32(size_t(Z) * c.h * c.h * c.cin, seed++, -1.f, 1.f);
    const std::vector<float> w = rand_f32(size_t(c.cout) * c.cin * 9, seed++, -0.5f, 0.5f);
    const std::vector<float> bias = rand_f32(c.cout, seed++, -0.2f, 0.2f);
    std::vector<float> wp(kc::conv3x3s2_packed_floats(c.cout, c.cin));
    kc::conv3x3s2_pack_f32(w.data(), c.cout, c.cin, wp.data());
    const size_t plane = size_t(ho) * ho * c.cout;
    std::vector<float> ref(size_t(Z) * plane);
    for (int z = 0; z < Z; ++z)
      kc::conv3x3s2_f32(kc::Isa::Scalar, in.data() + size_t(z) * c.h * c.h * c.cin, c.h, c.h, c.cin,
                        int64_t(c.h) * c.cin, wp.data(), bias.data(), c.cout, true, ref.data() + z * plane, 0, ho);
    DevBuf<float> din(in.size()), dwp(wp.size()), db(bias.size()), dout(ref.size());
    DevBuf<uint16_t> dpatch(ref.size());
    DevBuf<int32_t> dcount(1);
    CUDA_OK(din.up(in));
    CUDA_OK(dwp.up(wp));
    CUDA_OK(db.up(bias));
    CUDA_OK(dcount.up({live}));
    CUDA_OK(dout.poison());
    CUDA_OK(dpatch.poison());
    ConvArgs a;
    a.in = din.p;
    a.in_stride = int64_t(c.h) * c.h * c.cin;
    a.ld_in = int64_t(c.h) * c.cin;
    a.h = a.w = c.h;
    a.cin = c.cin;
    a.wp = dwp.p;
    a.bias = db.p;
    a.cout = c.cout;
    a.z = Z;
    a.live = {dcount.p, 1};
    if (c.pk) {
      a.out_patch = dpatch.p;
      a.pk = c.pk;
    } else {
      a.out = dout.p;
    }
    LAUNCH_OK(conv3x3s2(a, nullptr));
    const size_t L = size_t(live) * plane;
    if (c.pk) {
      // Reference: gather the f32 reference into patch rows, round to bf16.
      const int g = ho / c.pk, K = c.pk * c.pk * c.cout;
      std::vector<float> rows(size_t(Z) * g * g * K);
      for (int z = 0; z < Z; ++z)
        kc::patch_gather_f32(ref.data() + z * plane, ho, ho, c.cout, int64_t(ho) * c.cout, c.pk,
                             rows.data() + size_t(z) * g * g * K, K, 0, g * g);
      std::vector<uint16_t> got;
      CUDA_OK(dpatch.down(got));
      for (size_t i = 0; i < L; ++i) ASSERT_EQ(got[i], trw::f32_to_bf16(rows[i])) << "element " << i;
      for (size_t i = L; i < got.size(); ++i) ASSERT_EQ(got[i], 0xFFFF);
    } else {
      std::vector<float> got;
      CUDA_OK(dout.down(got));
      EXPECT_LT(rel_err(got.data(), ref.data(), L), 1e-6);
      size_t exact = 0;
      for (size_t i = 0; i < L; ++i) exact += std::memcmp(&got[i], &ref[i], 4) == 0;
      std::printf("[ conv %dx%dx%d -> %d ] bit-exact %zu / %zu\n", c.h, c.h, c.cin, c.cout, exact, L);
      for (size_t i = L; i < got.size(); ++i) ASSERT_TRUE(std::isnan(got[i]));
    }
  }
}

TEST_F(CudaKernels, Conv3x3s2RegionsReadWindowsInPlace) {
  // Fine-pass geometry of the 224-px review model (adc-optical, one channel here): 224 x 224 image, regions of 2P = 32 px, Wc = 7, K = 12 of 49.
  const int S = 224, C = 1, R = 32, Wc = 7, Gc = 49, K = 12, c1 = 24, slots = 2;
  const std::vector<float> img = rand_f32(size_t(slots) * S * S * C, 900);
  const std::vector<float> w = rand_f32(size_t(c1) * C * 9, 901, -0.5f, 0.5f), bias = rand_f32(c1, 902);
  std::vector<float> wp(kc::conv3x3s2_packed_floats(c1, C));
  kc::conv3x3s2_pack_f32(w.data(), c1, C, wp.data());
  std::vector<int32_t> order(size_t(slots) * Gc);
  std::mt19937 rng(903);
  for (int e = 0; e < slots; ++e) {
    std::vector<int32_t> o(Gc);
    for (int j = 0; j < Gc; ++j) o[j] = j;
    std::shuffle(o.begin(), o.end(), rng);
    std::sort(o.begin(), o.begin() + K);
    std::copy(o.begin(), o.end(), order.begin() + size_t(e) * Gc);
  }
  const size_t plane = size_t(R / 2) * (R / 2) * c1;
  std::vector<float> ref(size_t(slots) * K * plane);
  for (int e = 0; e < slots; ++e)
    for (int s = 0; s < K; ++s) {
      const int j = order[size_t(e) * Gc + s], cy = j / Wc, cx = j % Wc;
      const float* in = img.data() + size_t(e) * S * S * C + (size_t(cy) * R * S + size_t(cx) * R) * C;
      kc::conv3x3s2_f32(kc::Isa::Scalar, in, R, R, C, int64_t(S) * C, wp.data(), bias.data(), c1, true,
                        ref.data() + (size_t(e) * K + s) * plane, 0, R / 2);
    }
  DevBuf<float> dimg(img.size()), dwp(wp.size()), db(c1), dout(ref.size());
  DevBuf<int32_t> dorder(order.size()), dcount(1);
  CUDA_OK(dimg.up(img));
  CUDA_OK(dwp.up(wp));
  CUDA_OK(db.up(bias));
  CUDA_OK(dorder.up(order));
  CUDA_OK(dcount.up({slots}));
  CUDA_OK(dout.poison());
  ConvArgs a;
  a.in = dimg.p;
  a.in_stride = int64_t(S) * S * C;
  a.ld_in = int64_t(S) * C;
  a.h = a.w = R;
  a.cin = C;
  a.order = dorder.p;
  a.regions = K;
  a.order_stride = Gc;
  a.wc = Wc;
  a.wp = dwp.p;
  a.bias = db.p;
  a.cout = c1;
  a.z = slots * K;
  a.live = {dcount.p, K};
  a.out = dout.p;
  LAUNCH_OK(conv3x3s2(a, nullptr));
  std::vector<float> got;
  CUDA_OK(dout.down(got));
  EXPECT_LT(rel_err(got, ref), 1e-6);
}

TEST_F(CudaKernels, PatchGatherMatchesCpu) {
  const int S = 64, C = 3, P = 8, images = 2, g = S / P, K = P * P * C;
  const std::vector<float> img = rand_f32(size_t(images) * S * S * C, 950);
  std::vector<float> ref(size_t(images) * g * g * K);
  for (int i = 0; i < images; ++i)
    kc::patch_gather_f32(img.data() + size_t(i) * S * S * C, S, S, C, int64_t(S) * C, P,
                         ref.data() + size_t(i) * g * g * K, K, 0, g * g);
  DevBuf<float> din(img.size());
  DevBuf<uint16_t> dout(ref.size());
  CUDA_OK(din.up(img));
  CUDA_OK(dout.poison());
  GatherArgs a;
  a.in = din.p;
  a.S = S;
  a.C = C;
  a.P = P;
  a.images = images;
  a.out = dout.p;
  LAUNCH_OK(patch_gather(a, nullptr));
  std::vector<uint16_t> got;
  CUDA_OK(dout.down(got));
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], trw::f32_to_bf16(ref[i])) << i;
}

TEST_F(CudaKernels, ResizeNormalizeIsBitIdenticalToScalar) {
  struct Case {
    int h, w, c, S;
    bool u16;
  };
  uint32_t seed = 1000;
  for (const Case& c : {Case{480, 640, 1, 112, false}, Case{480, 640, 1, 224, true}, Case{53, 37, 3, 64, false},
                        Case{5, 5, 1, 224, true}, Case{1, 1, 1, 32, false}, Case{300, 200, 2, 64, true}}) {
    SCOPED_TRACE(testing::Message() << c.h << "x" << c.w << "x" << c.c << " -> " << c.S << (c.u16 ? " u16" : " u8"));
    const int images = 3, live = 2, bps = c.u16 ? 2 : 1;
    const size_t row = size_t(c.w) * c.c * bps, stride = row + 6;  // padded rows
    std::vector<uint8_t> pix(size_t(images) * c.h * stride);
    std::mt19937 rng(seed++);
    for (auto& v : pix) v = static_cast<uint8_t>(rng());
    kc::ResizeNorm rn;
    rn.out_size = c.S;
    rn.max_value = c.u16 ? 65535.f : 255.f;
    rn.mean = 0.5f;
    rn.stdev = 0.25f;
    const std::vector<int32_t> map = {2, 0, 1};
    const size_t plane = size_t(c.S) * c.S * c.c;
    std::vector<float> ref(size_t(images) * plane);
    for (int z = 0; z < images; ++z) {
      const uint8_t* src = pix.data() + size_t(map[z]) * c.h * stride;
      if (c.u16)
        kc::resize_normalize_u16(kc::Isa::Scalar, reinterpret_cast<const uint16_t*>(src), c.h, c.w, c.c,
                                 int64_t(stride / 2), rn, ref.data() + z * plane, 0, c.S, nullptr);
      else
        kc::resize_normalize_u8(kc::Isa::Scalar, src, c.h, c.w, c.c, int64_t(stride), rn, ref.data() + z * plane, 0,
                                c.S, nullptr);
    }
    DevBuf<uint8_t> dpix(pix.size());
    DevBuf<ImageDesc> ddesc(images);
    DevBuf<int32_t> dmap(images), dcount(1);
    DevBuf<float> dout(ref.size());
    CUDA_OK(dpix.up(pix));
    std::vector<ImageDesc> desc(images);
    for (int i = 0; i < images; ++i) {
      desc[i].data = dpix.p + size_t(i) * c.h * stride;
      desc[i].row_stride = int64_t(stride);
      desc[i].pixel = c.u16 ? 2 : 1;
      desc[i].height = c.h;
      desc[i].width = c.w;
      desc[i].channels = c.c;
    }
    CUDA_OK(ddesc.up(desc));
    CUDA_OK(dmap.up(map));
    CUDA_OK(dcount.up({live}));
    CUDA_OK(dout.poison());
    ResizeArgs a;
    a.desc = ddesc.p;
    a.map = dmap.p;
    a.images = images;
    a.live = {dcount.p, 1};
    a.S = c.S;
    a.C = c.c;
    a.max_u8 = 255.f;
    a.max_u16 = 65535.f;
    a.mean = 0.5f;
    a.stdev = 0.25f;
    a.out = dout.p;
    LAUNCH_OK(resize_normalize(a, nullptr));
    std::vector<float> got;
    CUDA_OK(dout.down(got));
    EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), size_t(live) * plane * sizeof(float)));
    for (size_t i = size_t(live) * plane; i < got.size(); ++i) ASSERT_TRUE(std::isnan(got[i]));
  }
}

// ---------------------------------------------------------------------------------------------
// Model-family glue: tokens, ranking, selection, router, scatter

TEST_F(CudaKernels, TokensEmbedAndFineMatchCpuFormulas) {
  const int D = 64, Wc = 4, Gc = 16, K = 4, images = 3, Nc = 1 + Gc, Nf = 1 + Gc + 3 * K, Wf = 2 * Wc;
  const std::vector<float> emb = rand_f32(size_t(images) * Gc * D, 1100), cls = rand_f32(D, 1101);
  const std::vector<float> pos_c = rand_f32(size_t(Nc) * D, 1102), pos_f = rand_f32(size_t(1 + 4 * Gc) * D, 1103);
  std::vector<float> x0(size_t(images) * Nc * D);
  for (int i = 0; i < images; ++i)
    for (int t = 0; t < Nc; ++t)
      for (int d = 0; d < D; ++d)
        x0[(size_t(i) * Nc + t) * D + d] =
            t == 0 ? cls[d] + pos_c[d] : emb[(size_t(i) * Gc + t - 1) * D + d] + pos_c[size_t(t) * D + d];
  DevBuf<float> demb(emb.size()), dcls(D), dpc(pos_c.size()), dpf(pos_f.size()), dx0(x0.size()), dcopy(x0.size());
  CUDA_OK(demb.up(emb));
  CUDA_OK(dcls.up(cls));
  CUDA_OK(dpc.up(pos_c));
  CUDA_OK(dpf.up(pos_f));
  CUDA_OK(dx0.poison());
  CUDA_OK(dcopy.poison());
  TokensArgs t;
  t.emb = demb.p;
  t.cls = dcls.p;
  t.pos = dpc.p;
  t.G = Gc;
  t.D = D;
  t.images = images;
  t.x0 = dx0.p;
  t.copy = dcopy.p;
  LAUNCH_OK(tokens_embed(t, nullptr));
  std::vector<float> got, got2;
  CUDA_OK(dx0.down(got));
  CUDA_OK(dcopy.down(got2));
  EXPECT_EQ(0, std::memcmp(got.data(), x0.data(), x0.size() * 4));
  EXPECT_EQ(0, std::memcmp(got2.data(), x0.data(), x0.size() * 4));

  // Fine tokens for 2 slots (images 2 and 0).
  const int slots = 2;
  const std::vector<int32_t> esc = {2, 0};
  std::vector<int32_t> order(size_t(slots) * Gc);
  std::mt19937 rng(1104);
  for (int e = 0; e < slots; ++e) {
    std::vector<int32_t> o(Gc);
    for (int j = 0; j < Gc; ++j) o[j] = j;
    std::shuffle(o.begin(), o.end(), rng);
    std::sort(o.begin(), o.begin() + K);
    std::sort(o.begin() + K, o.end());
    std::copy(o.begin(), o.end(), order.begin() + size_t(e) * Gc);
  }
  const std::vector<float> femb = rand_f32(size_t(slots) * K * 4 * D, 1105), u = rand_f32(size_t(slots) * Gc * D, 1106);
  std::vector<float> xf(size_t(slots) * Nf * D);
  for (int e = 0; e < slots; ++e) {
    float* x = xf.data() + size_t(e) * Nf * D;
    const int32_t* ord = order.data() + size_t(e) * Gc;
    for (int d = 0; d < D; ++d) x[d] = cls[d] + pos_f[d];
    size_t tt = 1;
    for (int s = 0; s < K; ++s) {
      const int j = ord[s], cy = j / Wc, cx = j % Wc;
      for (int ab = 0; ab < 4; ++ab, ++tt) {
        const size_t pi = 1 + size_t(2 * cy + ab / 2) * Wf + (2 * cx + ab % 2);
        for (int d = 0; d < D; ++d)
          x[tt * D + d] = (femb[((size_t(e) * K + s) * 4 + ab) * D + d] + pos_f[pi * D + d]) + u[(size_t(e) * Gc + j) * D + d];
      }
    }
    for (int s = K; s < Gc; ++s, ++tt) {
      const int j = ord[s];
      for (int d = 0; d < D; ++d)
        x[tt * D + d] = x0[(size_t(esc[e]) * Nc + 1 + j) * D + d] + u[(size_t(e) * Gc + j) * D + d];
    }
  }
  DevBuf<float> dfemb(femb.size()), du(u.size()), dxf(xf.size());
  DevBuf<int32_t> dorder(order.size()), desc(esc.size());
  CUDA_OK(dfemb.up(femb));
  CUDA_OK(du.up(u));
  CUDA_OK(dorder.up(order));
  CUDA_OK(desc.up(esc));
  CUDA_OK(dxf.poison());
  FineTokensArgs f;
  f.femb = dfemb.p;
  f.u = du.p;
  f.x0 = dx0.p;
  f.cls = dcls.p;
  f.pos_fine = dpf.p;
  f.order = dorder.p;
  f.esc = desc.p;
  f.K = K;
  f.Gc = Gc;
  f.Wc = Wc;
  f.D = D;
  f.slots = slots;
  f.xf = dxf.p;
  LAUNCH_OK(tokens_fine(f, nullptr));
  CUDA_OK(dxf.down(got));
  EXPECT_EQ(0, std::memcmp(got.data(), xf.data(), xf.size() * 4));
}

TEST_F(CudaKernels, RankAndTopkSelectMatchCpu) {
  const int R = 3, H = 3, Gc = 49, N = 1 + Gc, images = 4, layer_images = 6, slots = 3;
  std::vector<float> probs = rand_f32(size_t(R) * layer_images * H * N, 1200, 0.f, 0.05f);
  // Ties and NaN: identical probabilities for a few patches of image 1, a NaN for image 3.
  for (int l = 0; l < R; ++l)
    for (int h = 0; h < H; ++h)
      for (int j : {3, 9, 27}) probs[((size_t(l) * layer_images + 1) * H + h) * N + 1 + j] = 0.02f;
  probs[((size_t(0) * layer_images + 3) * H + 1) * N + 1 + 5] = NAN;
  std::vector<float> ref(size_t(images) * Gc);
  for (int i = 0; i < images; ++i)
    for (int j = 0; j < Gc; ++j) {
      float r = 0;
      for (int l = 0; l < R; ++l) {
        float m = 0;
        for (int h = 0; h < H; ++h) m += probs[((size_t(l) * layer_images + i) * H + h) * N + 1 + j];
        m /= static_cast<float>(H);
        r = l == 0 ? m : r + m;
      }
      ref[size_t(i) * Gc + j] = r;
    }
  DevBuf<float> dp(probs.size()), ds(ref.size());
  CUDA_OK(dp.up(probs));
  CUDA_OK(ds.poison());
  RankArgs ra;
  ra.cls_probs = dp.p;
  ra.R = R;
  ra.H = H;
  ra.N = N;
  ra.Gc = Gc;
  ra.images = images;
  ra.layer_images = layer_images;
  ra.scores = ds.p;
  LAUNCH_OK(rank_scores(ra, nullptr));
  std::vector<float> scores;
  CUDA_OK(ds.down(scores));
  for (size_t i = 0; i < ref.size(); ++i)
    ASSERT_TRUE(std::memcmp(&scores[i], &ref[i], 4) == 0 || (std::isnan(scores[i]) && std::isnan(ref[i]))) << i;

  const std::vector<int32_t> esc = {3, 1, 0};
  // Selection of the escalated slots against the oracle's rank order (the engine's rule: NaN ranks
  // lowest, as -inf; ties to the smaller index). pos (token skipping, may be empty): dropped patches
  // (pos 0) rank after kept ones; carried (-1: all) splits the unselected into the first `carried` in
  // rank order, then the rest, each ascending.
  auto check_select = [&](const std::vector<int32_t>& pos, int k, int carried) {
    DevBuf<int32_t> desc(esc.size()), dorder(size_t(slots) * Gc), dpos(pos.empty() ? 1 : pos.size());
    CUDA_OK(desc.up(esc));
    CUDA_OK(dorder.poison());
    if (!pos.empty()) CUDA_OK(dpos.up(pos));
    SelectArgs sa;
    sa.scores = ds.p;
    sa.esc = desc.p;
    sa.pos = pos.empty() ? nullptr : dpos.p;
    sa.Gc = Gc;
    sa.k = k;
    sa.carried = carried;
    sa.slots = slots;
    sa.order = dorder.p;
    LAUNCH_OK(topk_select(sa, nullptr));
    std::vector<int32_t> got;
    CUDA_OK(dorder.down(got));
    for (int e = 0; e < slots; ++e) {
      std::vector<float> r(ref.begin() + size_t(esc[e]) * Gc, ref.begin() + size_t(esc[e] + 1) * Gc);
      for (float& x : r) x = std::isnan(x) ? -INFINITY : x;
      std::vector<int> dropped;
      for (int j = 0; !pos.empty() && j < Gc; ++j) dropped.push_back(pos[size_t(esc[e]) * Gc + j] == 0);
      std::vector<int> sel, rest;
      rt::Oracle::select(r, dropped, k, sel, rest);  // rest in rank order
      const int c = carried < 0 ? Gc - k : std::min(carried, Gc - k);
      std::vector<int> car(rest.begin(), rest.begin() + c), fused(rest.begin() + c, rest.end());
      std::sort(car.begin(), car.end());
      std::sort(fused.begin(), fused.end());
      std::vector<int32_t> want(sel.begin(), sel.end());
      want.insert(want.end(), car.begin(), car.end());
      want.insert(want.end(), fused.begin(), fused.end());
      EXPECT_EQ(std::vector<int32_t>(got.begin() + size_t(e) * Gc, got.begin() + size_t(e + 1) * Gc), want)
          << "k " << k << " carried " << carried << (pos.empty() ? "" : " (skipping)") << " slot " << e;
    }
  };
  for (int k : {0, 1, 12, 49}) check_select({}, k, -1);
  std::vector<int32_t> pos(size_t(images) * Gc);
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = (i * 7919u) % 3 == 0 ? 0 : 1;
  for (int k : {0, 5, 12})
    for (int carried : {0, 3, 20}) check_select(pos, k, carried);
}

TEST_F(CudaKernels, RouterCompactMatchesHostRules) {
  const int images = 300, ncls = 7, good = 0, live = 257;
  std::vector<float> logits = rand_f32(size_t(images) * ncls, 1300, -4.f, 4.f);
  for (int i = 0; i < images; i += 5) logits[size_t(i) * ncls + (i % ncls)] += 8.f;  // confident ones
  rt::RouterThresholds th;
  th.coarse_good = 0.7;
  th.coarse_defect = 0.8;
  DevBuf<float> dl(logits.size());
  DevBuf<int32_t> dn(1), dflags(images), desc(images), dm(1);
  CUDA_OK(dl.up(logits));
  CUDA_OK(dn.up({live}));
  for (int force = 0; force <= 3; ++force) {
    SCOPED_TRACE(testing::Message() << "force " << force);
    CUDA_OK(dflags.poison());
    CUDA_OK(desc.poison());
    CUDA_OK(dm.poison());
    RouterArgs a;
    a.logits = dl.p;
    a.n = dn.p;
    a.images = images;
    a.ncls = ncls;
    a.good = good;
    a.force = force;
    a.coarse_good = th.coarse_good;
    a.coarse_defect = th.coarse_defect;
    a.flags = dflags.p;
    a.esc = desc.p;
    a.m = dm.p;
    LAUNCH_OK(router_compact(a, nullptr));
    std::vector<int32_t> flags, esc, m;
    CUDA_OK(dflags.down(flags));
    CUDA_OK(desc.down(esc));
    CUDA_OK(dm.down(m));
    std::vector<int32_t> want_esc;
    std::vector<float> p(ncls);
    for (int i = 0; i < images; ++i) {
      int want = 0;
      if (i < live) {
        if (force == 0) {
          rt::softmax(logits.data() + size_t(i) * ncls, ncls, p.data());
          want = rt::decide_coarse(p.data(), ncls, good, th).exit ? 0 : 1;
        } else {
          want = force >= 2 ? 1 : 0;
        }
      }
      ASSERT_EQ(flags[i], want) << "image " << i;
      if (want) want_esc.push_back(i);
    }
    ASSERT_EQ(m[0], static_cast<int32_t>(want_esc.size()));
    EXPECT_EQ(std::vector<int32_t>(esc.begin(), esc.begin() + m[0]), want_esc);
  }
}

TEST_F(CudaKernels, ScatterRowsToImagePositions) {
  const int rows = 5, cols = 7;
  const std::vector<float> src = rand_f32(size_t(rows) * cols, 1400);
  const std::vector<int32_t> idx = {4, 0, 2, 1, 3};
  DevBuf<float> ds(src.size()), dd(src.size());
  DevBuf<int32_t> di(rows), dc(1);
  CUDA_OK(ds.up(src));
  CUDA_OK(di.up(idx));
  CUDA_OK(dc.up({3}));
  CUDA_OK(dd.poison());
  ScatterArgs a;
  a.src = ds.p;
  a.idx = di.p;
  a.rows = rows;
  a.cols = cols;
  a.live = {dc.p, 1};
  a.dst = dd.p;
  LAUNCH_OK(scatter_rows(a, nullptr));
  std::vector<float> got;
  CUDA_OK(dd.down(got));
  for (int e = 0; e < rows; ++e)
    for (int c = 0; c < cols; ++c) {
      const float v = got[size_t(idx[e]) * cols + c];
      if (e < 3) {
        ASSERT_EQ(v, src[size_t(e) * cols + c]);
      } else {
        ASSERT_TRUE(std::isnan(v));
      }
    }
}

}  // namespace
}  // namespace triage::cuda::test
