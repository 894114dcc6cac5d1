// The CUDA engine (engine.h): load (parse -> config -> tensors -> support check -> pack -> device
// allocation -> upload -> graph capture) and classify (stage -> upload -> graphs -> download -> host
// router decisions -> results).
#include "runtime/cuda/engine.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>

#include "runtime/cuda/validate.h"
#include "runtime/model_tensors.h"
#include "runtime/model_router.h"
#include "runtime/router.h"
#include "weights_format/trw.h"

namespace triage::rt::gpu {

static_assert(sizeof(cuda::ImageDesc) == kImageDescBytes, "plan.h kImageDescBytes must match cuda::ImageDesc");

namespace {

namespace k = triage::cuda;

triage_status map_cuda(cudaError_t e) {
  switch (e) {
    case cudaErrorMemoryAllocation: return TRIAGE_E_NOMEM;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorNotSupported: return TRIAGE_E_UNSUPPORTED;
    case cudaErrorInvalidDevice: return TRIAGE_E_INVALID_ARGUMENT;
    default: return TRIAGE_E_INTERNAL;
  }
}

// An error that leaves the CUDA context unusable: every later call on the handle fails.
bool sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
    case cudaErrorUnknown: return true;
    default: return false;
  }
}

// Makes `device` current for a scope and restores the caller's device after.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    if (cudaGetDevice(&prev_) != cudaSuccess) prev_ = -1;
    if (prev_ != device) status = cudaSetDevice(device);
  }
  ~DeviceGuard() {
    if (prev_ >= 0 && status == cudaSuccess) {
      int cur = -1;
      if (cudaGetDevice(&cur) == cudaSuccess && cur != prev_) cudaSetDevice(prev_);
    }
  }
  cudaError_t status = cudaSuccess;

 private:
  int prev_ = -1;
};

}  // namespace

bool cuda_fail(Error& err, cudaError_t e, const char* what) {
  return err.set(map_cuda(e), "CUDA %s: %s (%s)", what, cudaGetErrorName(e), cudaGetErrorString(e));
}

#define CK(call)                                                \
  do {                                                          \
    const cudaError_t ck_e_ = (call);                           \
    if (ck_e_ != cudaSuccess) return cuda_fail(err, ck_e_, #call); \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Load

CudaEngine::~CudaEngine() { release(); }

void CudaEngine::release() {
  if (!d_act_ && !d_weights_ && !h_io_ && !h_pixels_ && !own_stream_ && !capture_stream_ && first_graphs_.empty() &&
      fine_graphs_.empty() && !ev_[0])
    return;
  DeviceGuard g(device_);
  for (cudaGraphExec_t e : first_graphs_)
    if (e) cudaGraphExecDestroy(e);
  for (cudaGraphExec_t e : fine_graphs_)
    if (e) cudaGraphExecDestroy(e);
  first_graphs_.clear();
  fine_graphs_.clear();
  for (cudaEvent_t& e : ev_)
    if (e) {
      cudaEventDestroy(e);
      e = nullptr;
    }
  if (capture_stream_) cudaStreamDestroy(capture_stream_);
  if (own_stream_) {
    cudaStreamSynchronize(own_stream_);
    cudaStreamDestroy(own_stream_);
  }
  capture_stream_ = own_stream_ = stream_ = nullptr;
  if (d_act_) cudaFree(d_act_);
  if (d_weights_) cudaFree(d_weights_);
  if (h_io_) cudaFreeHost(h_io_);
  if (h_pixels_) cudaFreeHost(h_pixels_);
  d_act_ = d_weights_ = h_io_ = h_pixels_ = nullptr;
}

bool CudaEngine::load(std::span<const uint8_t> bytes, const triage_cuda_options& opts, Error& err) {
  if (opts.max_batch < 1 || opts.max_batch > TRIAGE_MAX_BATCH)
    return err.set(opts.max_batch ? TRIAGE_E_LIMIT : TRIAGE_E_INVALID_ARGUMENT, "options.max_batch %u outside [1, %u]",
                   opts.max_batch, TRIAGE_MAX_BATCH);
  if (opts.force > TRIAGE_FORCE_FINE_ALL)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.force %u is not a triage_force", opts.force);
  if (opts.reserved != 0) return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.reserved must be 0");
  if (opts.flags & ~(TRIAGE_CUDA_NO_GRAPHS | TRIAGE_CUDA_ALLOW_UNCALIBRATED))
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.flags has unknown bits");
  if (opts.device < 0) return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.device %d is negative", opts.device);
  if (opts.max_image_bytes > (uint64_t(1) << 32))
    return err.set(TRIAGE_E_LIMIT, "options.max_image_bytes %llu exceeds 4 GiB",
                   static_cast<unsigned long long>(opts.max_image_bytes));
  if (bytes.size() > TRIAGE_MAX_MODEL_BYTES) return err.set(TRIAGE_E_LIMIT, "model of %zu bytes exceeds the cap", bytes.size());
  opts_ = opts;
  device_ = opts.device;

  // Model: the CPU runtime's parser, config and tensor binding (the same checks as triage_open_*).
  LoadedModel lm;
  if (!load_model(bytes, nullptr, (opts.flags & TRIAGE_CUDA_ALLOW_UNCALIBRATED) != 0, opts.force, lm, cfg_, router_, text_, err))
    return false;
  const ModelTensors& tensors = lm.tensors;
  if (!check_model_support(cfg_, err)) return false;
  std::vector<uint8_t> blob;
  if (!pack_device_weights(cfg_, tensors, w_, blob, err)) return false;

  // Device.
  int count = 0;
  CK(cudaGetDeviceCount(&count));
  if (device_ >= count)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.device %d: %d CUDA device(s) present", device_, count);
  DeviceGuard guard(device_);
  CK(guard.status);
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, device_));
  std::memcpy(device_name_, prop.name, sizeof(device_name_) - 1);  // prop.name: char[256], NUL-terminated
  cc_major_ = prop.major;
  cc_minor_ = prop.minor;
  if (cc_major_ < 8)
    return err.set(TRIAGE_E_UNSUPPORTED, "CUDA device %d (%s) is sm_%d%d: the kernels need sm_80 or newer", device_,
                   device_name_, cc_major_, cc_minor_);
  CK(cudaDeviceGetAttribute(&smem_optin_, cudaDevAttrMaxSharedMemoryPerBlockOptin, device_));
  {
    const cudaError_t e = k::kernels_init(smem_optin_);
    if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorInvalidDeviceFunction)
      return err.set(TRIAGE_E_UNSUPPORTED, "this build has no kernel image for sm_%d%d (%s): rebuild with "
                     "CMAKE_CUDA_ARCHITECTURES including %d%d", cc_major_, cc_minor_, device_name_, cc_major_, cc_minor_);
    CK(e);
  }

  // Plan: a rows-staging buffer only when a q8 re-quantised row is too wide for shared memory.
  PlanOptions po;
  po.max_batch = static_cast<int>(opts.max_batch);
  po.force = opts.force;
  slot_bytes_ = staging_slot_bytes(static_cast<size_t>(opts.max_image_bytes));
  po.max_image_bytes = slot_bytes_;
  for (const DevBlock& b : w_.blocks)
    if (b.fc2.q8 && !k::gemm_rowq_fused(b.fc1.n, smem_optin_)) po.rowq_staging = true;
  if (cfg_.arch == Arch::CfVit && w_.reuse_fc2.q8 && !k::gemm_rowq_fused(w_.reuse_fc1.n, smem_optin_))
    po.rowq_staging = true;
  if (!plan_device(cfg_, po, plan_, err)) return false;

  // Allocations (all of them, here) and the weight upload.
  CK(cudaMalloc(reinterpret_cast<void**>(&d_weights_), w_.bytes));
  CK(cudaMemcpy(d_weights_, blob.data(), w_.bytes, cudaMemcpyHostToDevice));
  CK(cudaMalloc(reinterpret_cast<void**>(&d_act_), plan_.total));
  CK(cudaMemset(d_act_, 0, plan_.total));
  io_bytes_ = plan_.offset[kEsc] + plan_.bytes[kEsc];
  CK(cudaHostAlloc(reinterpret_cast<void**>(&h_io_), io_bytes_, cudaHostAllocDefault));
  std::memset(h_io_, 0, io_bytes_);
  if (plan_.bytes[kPixels]) CK(cudaHostAlloc(reinterpret_cast<void**>(&h_pixels_), plan_.bytes[kPixels], cudaHostAllocDefault));
  if (opts.stream) {
    stream_ = static_cast<cudaStream_t>(opts.stream);
  } else {
    CK(cudaStreamCreateWithFlags(&own_stream_, cudaStreamNonBlocking));
    stream_ = own_stream_;
  }
  for (cudaEvent_t& e : ev_) CK(cudaEventCreate(&e));
  CK(cudaDeviceSynchronize());

  buckets_ = batch_buckets(static_cast<int>(opts.max_batch));
  if (!(opts.flags & TRIAGE_CUDA_NO_GRAPHS)) {
    CK(cudaStreamCreateWithFlags(&capture_stream_, cudaStreamNonBlocking));
    first_graphs_.assign(buckets_.size(), nullptr);
    fine_graphs_.assign(buckets_.size(), nullptr);
    for (size_t i = 0; i < buckets_.size(); ++i) {
      if (!capture(buckets_[i], false, first_graphs_[i], err)) return false;
      if (plan_.fine && !capture(buckets_[i], true, fine_graphs_[i], err)) return false;
    }
    // Replay each graph once with no live image (the control block is zero): every kernel returns at
    // once, which checks that the graphs launch on this device before the first classify.
    for (size_t i = 0; i < buckets_.size(); ++i) {
      CK(cudaGraphLaunch(first_graphs_[i], stream_));
      if (plan_.fine) CK(cudaGraphLaunch(fine_graphs_[i], stream_));
    }
    CK(cudaStreamSynchronize(stream_));
  } else {
    // Validate every launch configuration once, outside any graph (no device work is left pending).
    for (int b : buckets_) {
      if (!enqueue_first(b, stream_, err)) return false;
      if (plan_.fine && !enqueue_fine(b, stream_, err)) return false;
    }
    CK(cudaStreamSynchronize(stream_));
  }
  probs_.assign(static_cast<size_t>(opts.max_batch) * cfg_.ncls(), 0.f);
  ood_.assign(opts.max_batch, 0.f);  // OOD score of each image's deciding pass (result.unknown)
  in_stats_.assign(opts.max_batch, InputStats{});
  host_esc_.assign(opts.max_batch, 0);
  return true;
}

bool CudaEngine::capture(int b, bool fine_pass, cudaGraphExec_t& exec, Error& err) {
  CK(cudaStreamBeginCapture(capture_stream_, cudaStreamCaptureModeThreadLocal));
  Error inner;
  const bool ok = fine_pass ? enqueue_fine(b, capture_stream_, inner) : enqueue_first(b, capture_stream_, inner);
  cudaGraph_t graph = nullptr;
  const cudaError_t e = cudaStreamEndCapture(capture_stream_, &graph);  // always end the capture
  if (!ok) {
    if (graph) cudaGraphDestroy(graph);
    err = inner;
    return false;
  }
  if (e != cudaSuccess) return cuda_fail(err, e, "cudaStreamEndCapture");
  const cudaError_t ie = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (ie != cudaSuccess) return cuda_fail(err, ie, "cudaGraphInstantiate");
  return true;
}

// ---------------------------------------------------------------------------------------------
// Passes (enqueued on s: captured into graphs at load, or launched directly with NO_GRAPHS)

bool CudaEngine::linear(const DevLinear& L, const void* a, const float* a_scale, int64_t lda, int M, k::DynCount live,
                        bool gelu, k::GemmOut out, void* y, int64_t ldy, float* y_scale, cudaStream_t s,
                        Error& err) const {
  k::GemmArgs g;
  g.type = L.q8 ? k::GemmType::Q8 : k::GemmType::BF16;
  g.a = a;
  g.lda = lda;
  g.a_scale = a_scale;
  g.w = wt<uint8_t>(L.w);
  g.w_scale = L.q8 ? wt<float>(L.scale) : nullptr;
  g.bias = wt<float>(L.bias);
  g.M = M;
  g.N = L.n;
  g.K = L.k;
  g.rows = live;
  g.gelu = gelu;
  g.out = out;
  if (out == k::GemmOut::Q8ROW) {
    g.yq = static_cast<int8_t*>(y);
    g.ldyq = ldy;
    g.yq_scale = y_scale;
    g.rowq_staging = dbuf<float>(kRowq);
  } else if (out == k::GemmOut::BF16) {
    g.yb = y;
    g.ldyb = ldy;
  } else {
    g.y = static_cast<float*>(y);
    g.ldy = ldy;
  }
  g.smem_optin = smem_optin_;
  if (const char* m = k::gemm_check(g)) return err.set(TRIAGE_E_INTERNAL, "%s", m);
  CK(k::gemm(g, s));
  return true;
}

bool CudaEngine::rows(const float* x, const k::RowMap& in, int n, k::DynCount live, bool norm, const float* g,
                      const float* b, bool q8, void* y, float* y_scale, cudaStream_t s, Error& err) const {
  k::RowArgs r;
  r.x = x;
  r.in = in;
  r.rows = n;
  r.live = live;
  r.dim = cfg_.D;
  r.norm = norm;
  r.gamma = g;
  r.beta = b;
  r.eps = cfg_.ln_eps;
  r.out = q8 ? k::RowOut::Q8 : k::RowOut::BF16;
  r.y = y;
  r.ldy = cfg_.D;
  r.y_scale = y_scale;
  CK(k::layernorm_rows(r, s));
  return true;
}

bool CudaEngine::blocks(float* x, int images, int ntok, const int32_t* count, bool rank, cudaStream_t s,
                        Error& err, int l0, int l1, int probs_at) const {
  const ModelConfig& c = cfg_;
  const int D = c.D, M = images * ntok, hidden = c.hidden;
  const k::DynCount live{count, ntok};
  k::RowMap dense;
  dense.ld = D;
  void* act = buffer(kAct);
  float* act_scale = dbuf<float>(kActScale);
  float* qkv = dbuf<float>(kQkv);
  void* hid = buffer(kHid);
  float* hid_scale = dbuf<float>(kHidScale);
  for (int l = l0; l < (l1 < 0 ? c.L : l1); ++l) {
    const DevBlock& B = w_.blocks[l];
    if (!rows(x, dense, M, live, true, wt<float>(B.ln1_w), wt<float>(B.ln1_b), B.qkv.q8, act, act_scale, s, err)) return false;
    if (!linear(B.qkv, act, act_scale, D, M, live, false, k::GemmOut::F32, qkv, 3 * D, nullptr, s, err)) return false;
    k::AttentionArgs at;
    at.qkv = qkv;
    at.n_tokens = ntok;
    at.dim = D;
    at.heads = c.H;
    // hd^-0.5 computed in double and rounded once, as the CPU engine and the reference do.
    at.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.hd)));
    at.images = images;
    at.live = {count, 1};
    at.out_bf16 = !B.proj.q8;
    at.out = B.proj.q8 ? buffer(kAttn) : act;
    if (rank && l >= c.L - c.R)
      at.cls_probs = dbuf<float>(kClsProbs) +
                     static_cast<size_t>(l - (c.L - c.R)) * plan_.batch * c.H * plan_.n_coarse;
    if (l == probs_at) at.cls_probs = dbuf<float>(kSkipProbs);
    CK(k::attention(at, s));
    if (B.proj.q8 &&
        !rows(dbuf<float>(kAttn), dense, M, live, false, nullptr, nullptr, true, act, act_scale, s, err))
      return false;
    if (!linear(B.proj, act, act_scale, D, M, live, false, k::GemmOut::F32_ACC, x, D, nullptr, s, err)) return false;
    if (!rows(x, dense, M, live, true, wt<float>(B.ln2_w), wt<float>(B.ln2_b), B.fc1.q8, act, act_scale, s, err)) return false;
    if (!linear(B.fc1, act, act_scale, D, M, live, true, B.fc2.q8 ? k::GemmOut::Q8ROW : k::GemmOut::BF16, hid, hidden,
                hid_scale, s, err))
      return false;
    if (!linear(B.fc2, hid, hid_scale, hidden, M, live, false, k::GemmOut::F32_ACC, x, D, nullptr, s, err)) return false;
  }
  return true;
}

bool CudaEngine::head(const float* x, int images, int ntok, const int32_t* count, float* logits, cudaStream_t s,
                      Error& err) const {
  k::RowMap cls_rows;
  cls_rows.ld = static_cast<int64_t>(ntok) * cfg_.D;
  void* act = buffer(kAct);
  float* act_scale = dbuf<float>(kActScale);
  if (!rows(x, cls_rows, images, {count, 1}, true, wt<float>(w_.norm_w), wt<float>(w_.norm_b), w_.head.q8, act,
            act_scale, s, err))
    return false;
  return linear(w_.head, act, act_scale, cfg_.D, images, {count, 1}, false, k::GemmOut::F32, logits, cfg_.ncls(),
                nullptr, s, err);
}

bool CudaEngine::coarse(int b, cudaStream_t s, Error& err) const {
  const ModelConfig& c = cfg_;
  const int32_t* n = dbuf<int32_t>(kCtl);
  const int Sc = c.Sc, C = c.C, D = c.D, Gc = c.Gc, Nc = 1 + Gc, h1 = Sc / 2, pp = c.p * c.p * c.c2;
  k::ResizeArgs rz;
  rz.desc = dbuf<k::ImageDesc>(kDesc);
  rz.images = b;
  rz.live = {n, 1};
  rz.S = Sc;
  rz.C = C;
  rz.max_u8 = static_cast<float>(c.input.max_value_u8);
  rz.max_u16 = static_cast<float>(c.input.max_value_u16);
  rz.mean = static_cast<float>(c.input.mean);
  rz.stdev = static_cast<float>(c.input.std);
  rz.out = dbuf<float>(kImgC);
  CK(k::resize_normalize(rz, s));
  k::ConvArgs c0;
  c0.in = dbuf<float>(kImgC);
  c0.in_stride = static_cast<int64_t>(Sc) * Sc * C;
  c0.ld_in = static_cast<int64_t>(Sc) * C;
  c0.h = c0.w = Sc;
  c0.cin = C;
  c0.wp = wt<float>(w_.stem0_w);
  c0.bias = wt<float>(w_.stem0_b);
  c0.cout = c.c1;
  c0.z = b;
  c0.live = {n, 1};
  c0.out = dbuf<float>(kS1);
  CK(k::conv3x3s2(c0, s));
  k::ConvArgs c1 = c0;
  c1.in = dbuf<float>(kS1);
  c1.in_stride = static_cast<int64_t>(h1) * h1 * c.c1;
  c1.ld_in = static_cast<int64_t>(h1) * c.c1;
  c1.h = c1.w = h1;
  c1.cin = c.c1;
  c1.wp = wt<float>(w_.stem1_w);
  c1.bias = wt<float>(w_.stem1_b);
  c1.cout = c.c2;
  c1.out = nullptr;
  c1.out_patch = buffer(kGat);
  c1.pk = c.p;
  CK(k::conv3x3s2(c1, s));
  if (!linear(w_.patch, buffer(kGat), nullptr, pp, b * Gc, {n, Gc}, false, k::GemmOut::F32, buffer(kEmb), D, nullptr,
              s, err))
    return false;
  k::TokensArgs tk;
  tk.emb = dbuf<float>(kEmb);
  tk.cls = wt<float>(w_.cls);
  tk.pos = wt<float>(w_.pos_coarse);
  tk.G = Gc;
  tk.D = D;
  tk.images = b;
  tk.live = {n, 1};
  tk.x0 = dbuf<float>(kX0);
  tk.copy = dbuf<float>(kXc);
  CK(k::tokens_embed(tk, s));
  k::RankArgs rk;
  if (!c.skips_coarse()) {
    if (!blocks(dbuf<float>(kXc), b, Nc, n, true, s, err)) return false;
  } else {
    // Token skipping: blocks 0 .. s-1 on every token, then the kept sequence (kept + fused), and the
    // kept rows back into xc (dropped rows keep their skip-layer features for reuse).
    const int sl = c.skip_layer, Nk = c.tokens_coarse_kept();
    if (!blocks(dbuf<float>(kXc), b, Nc, n, false, s, err, 0, sl, sl - 1)) return false;
    k::SkipArgs sk;
    sk.cls_probs = dbuf<float>(kSkipProbs);
    sk.xc = dbuf<float>(kXc);
    sk.H = c.H;
    sk.Gc = Gc;
    sk.kc = c.keep_coarse;
    sk.D = D;
    sk.images = b;
    sk.live = {n, 1};
    sk.pos = dbuf<int32_t>(kPos);
    sk.scores = dbuf<float>(kScores);
    sk.xk = dbuf<float>(kXk);
    CK(k::skip_tokens(sk, s));
    if (!blocks(dbuf<float>(kXk), b, Nk, n, true, s, err, sl, c.L)) return false;
    k::UnskipArgs us;
    us.xk = dbuf<float>(kXk);
    us.pos = dbuf<int32_t>(kPos);
    us.Gc = Gc;
    us.kc = c.keep_coarse;
    us.D = D;
    us.images = b;
    us.live = {n, 1};
    us.xc = dbuf<float>(kXc);
    CK(k::unskip_tokens(us, s));
    rk.pos = dbuf<int32_t>(kPos);
    rk.layer_stride = static_cast<int64_t>(plan_.batch) * c.H * plan_.n_coarse;
  }
  if (!head(dbuf<float>(kXc), b, Nc, n, dbuf<float>(kLogitsC), s, err)) return false;
  rk.cls_probs = dbuf<float>(kClsProbs);
  rk.R = c.R;
  rk.H = c.H;
  rk.N = c.tokens_coarse_kept();
  rk.Gc = Gc;
  rk.images = b;
  rk.layer_images = plan_.batch;
  rk.live = {n, 1};
  rk.scores = dbuf<float>(kScores);
  CK(k::rank_scores(rk, s));
  k::RouterArgs ra;
  ra.logits = dbuf<float>(kLogitsC);
  ra.n = n;
  ra.images = b;
  ra.ncls = c.ncls();
  ra.good = c.good;
  ra.force = static_cast<int>(opts_.force);
  // The device flags follow the thresholds in force: no good exit in fail-safe (2 * kMaxThreshold: above
  // every probability).
  ra.coarse_good = router_.fail_safe ? 2 * kMaxThreshold : router_.coarse_good;
  ra.coarse_defect = router_.coarse_defect;
  ra.flags = dbuf<int32_t>(kFlags);
  ra.esc = dbuf<int32_t>(kEsc);
  ra.m = dbuf<int32_t>(kCtl) + 1;
  CK(k::router_compact(ra, s));
  return true;
}

bool CudaEngine::fine(int b, cudaStream_t s, Error& err) const {
  const ModelConfig& c = cfg_;
  const int32_t* m = dbuf<int32_t>(kCtl) + 1;
  const int32_t* esc = dbuf<int32_t>(kEsc);
  const int Sf = c.Sf, C = c.C, D = c.D, Gc = c.Gc, Nc = 1 + Gc, P = c.P, K = plan_.fine_k, Nf = plan_.n_fine;
  const int pp = c.p * c.p * c.c2;
  k::SelectArgs sa;
  sa.scores = dbuf<float>(kScores);
  sa.esc = esc;
  sa.Gc = Gc;
  sa.k = K;
  sa.pos = c.skips_coarse() ? dbuf<int32_t>(kPos) : nullptr;
  sa.carried = c.fine_carried(K);
  sa.slots = b;
  sa.live = {m, 1};
  sa.order = dbuf<int32_t>(kOrder);
  CK(k::topk_select(sa, s));
  if (K > 0) {
    k::ResizeArgs rz;
    rz.desc = dbuf<k::ImageDesc>(kDesc);
    rz.map = esc;
    rz.images = b;
    rz.live = {m, 1};
    rz.S = Sf;
    rz.C = C;
    rz.max_u8 = static_cast<float>(c.input.max_value_u8);
    rz.max_u16 = static_cast<float>(c.input.max_value_u16);
    rz.mean = static_cast<float>(c.input.mean);
    rz.stdev = static_cast<float>(c.input.std);
    rz.out = dbuf<float>(kImgF);
    CK(k::resize_normalize(rz, s));
    k::ConvArgs c0;
    c0.in = dbuf<float>(kImgF);
    c0.in_stride = static_cast<int64_t>(Sf) * Sf * C;
    c0.ld_in = static_cast<int64_t>(Sf) * C;
    c0.h = c0.w = 2 * P;
    c0.cin = C;
    c0.order = dbuf<int32_t>(kOrder);
    c0.regions = K;
    c0.order_stride = Gc;
    c0.wc = c.Wc;
    c0.wp = wt<float>(w_.stem0_w);
    c0.bias = wt<float>(w_.stem0_b);
    c0.cout = c.c1;
    c0.z = b * K;
    c0.live = {m, K};
    c0.out = dbuf<float>(kR1);
    CK(k::conv3x3s2(c0, s));
    k::ConvArgs c1;
    c1.in = dbuf<float>(kR1);
    c1.in_stride = static_cast<int64_t>(P) * P * c.c1;
    c1.ld_in = static_cast<int64_t>(P) * c.c1;
    c1.h = c1.w = P;
    c1.cin = c.c1;
    c1.wp = wt<float>(w_.stem1_w);
    c1.bias = wt<float>(w_.stem1_b);
    c1.cout = c.c2;
    c1.z = b * K;
    c1.live = {m, K};
    c1.out_patch = buffer(kFgat);
    c1.pk = c.p;
    CK(k::conv3x3s2(c1, s));
    if (!linear(w_.patch, buffer(kFgat), nullptr, pp, b * K * 4, {m, 4 * K}, false, k::GemmOut::F32, buffer(kFemb), D,
                nullptr, s, err))
      return false;
  }
  // Feature reuse over every coarse patch of the escalated images: u = fc2(GELU(fc1(LN(z)))).
  k::RowMap z;
  z.ld = D;
  z.per = Gc;
  z.group_stride = static_cast<int64_t>(Nc) * D;
  z.off = 1;
  z.map = esc;
  const DevLinear &f1 = w_.reuse_fc1, &f2 = w_.reuse_fc2;
  if (!rows(dbuf<float>(kXc), z, b * Gc, {m, Gc}, true, wt<float>(w_.reuse_norm_w), wt<float>(w_.reuse_norm_b), f1.q8,
            buffer(kRact), dbuf<float>(kRactScale), s, err))
    return false;
  if (!linear(f1, buffer(kRact), dbuf<float>(kRactScale), D, b * Gc, {m, Gc}, true,
              f2.q8 ? k::GemmOut::Q8ROW : k::GemmOut::BF16, buffer(kRhid), c.Dr, dbuf<float>(kRhidScale), s, err))
    return false;
  if (!linear(f2, buffer(kRhid), dbuf<float>(kRhidScale), c.Dr, b * Gc, {m, Gc}, false, k::GemmOut::F32, buffer(kU), D,
              nullptr, s, err))
    return false;
  k::FineTokensArgs ft;
  ft.femb = K > 0 ? dbuf<float>(kFemb) : dbuf<float>(kU);  // unread when K == 0
  ft.u = dbuf<float>(kU);
  ft.x0 = dbuf<float>(kX0);
  ft.cls = wt<float>(w_.cls);
  ft.pos_fine = wt<float>(w_.pos_fine);
  ft.order = dbuf<int32_t>(kOrder);
  ft.esc = esc;
  ft.K = K;
  ft.carried = c.fine_carried(K);
  ft.Gc = Gc;
  ft.Wc = c.Wc;
  ft.D = D;
  ft.slots = b;
  ft.live = {m, 1};
  ft.xf = dbuf<float>(kXf);
  CK(k::tokens_fine(ft, s));
  if (!blocks(dbuf<float>(kXf), b, Nf, m, false, s, err)) return false;
  if (!head(dbuf<float>(kXf), b, Nf, m, dbuf<float>(kLogitsTmp), s, err)) return false;
  k::ScatterArgs sc;
  sc.src = dbuf<float>(kLogitsTmp);
  sc.idx = esc;
  sc.rows = b;
  sc.cols = c.ncls();
  sc.live = {m, 1};
  sc.dst = dbuf<float>(kLogitsF);
  CK(k::scatter_rows(sc, s));
  return true;
}

bool CudaEngine::vit(int b, cudaStream_t s, Error& err) const {
  const ModelConfig& c = cfg_;
  const int32_t* n = dbuf<int32_t>(kCtl);
  const int Sf = c.Sf, C = c.C, D = c.D, Gf = c.Gf, N = 1 + Gf, PP = c.P * c.P * C;
  k::ResizeArgs rz;
  rz.desc = dbuf<k::ImageDesc>(kDesc);
  rz.images = b;
  rz.live = {n, 1};
  rz.S = Sf;
  rz.C = C;
  rz.max_u8 = static_cast<float>(c.input.max_value_u8);
  rz.max_u16 = static_cast<float>(c.input.max_value_u16);
  rz.mean = static_cast<float>(c.input.mean);
  rz.stdev = static_cast<float>(c.input.std);
  rz.out = dbuf<float>(kImgF);
  CK(k::resize_normalize(rz, s));
  k::GatherArgs ga;
  ga.in = dbuf<float>(kImgF);
  ga.S = Sf;
  ga.C = C;
  ga.P = c.P;
  ga.images = b;
  ga.live = {n, 1};
  ga.out = buffer(kFgat);
  CK(k::patch_gather(ga, s));
  if (!linear(w_.patch, buffer(kFgat), nullptr, PP, b * Gf, {n, Gf}, false, k::GemmOut::F32, buffer(kFemb), D, nullptr,
              s, err))
    return false;
  k::TokensArgs tk;
  tk.emb = dbuf<float>(kFemb);
  tk.cls = wt<float>(w_.cls);
  tk.pos = wt<float>(w_.pos_fine);
  tk.G = Gf;
  tk.D = D;
  tk.images = b;
  tk.live = {n, 1};
  tk.x0 = dbuf<float>(kXf);
  CK(k::tokens_embed(tk, s));
  if (!blocks(dbuf<float>(kXf), b, N, n, false, s, err)) return false;
  return head(dbuf<float>(kXf), b, N, n, dbuf<float>(kLogitsF), s, err);
}

bool CudaEngine::enqueue_first(int b, cudaStream_t s, Error& err) {
  return cfg_.arch == Arch::Vit ? vit(b, s, err) : coarse(b, s, err);
}

bool CudaEngine::enqueue_fine(int b, cudaStream_t s, Error& err) { return plan_.fine ? fine(b, s, err) : true; }

// ---------------------------------------------------------------------------------------------
// Classify

bool CudaEngine::launch_pass(int bi, bool fine_pass, cudaStream_t s, Error& err) {
  const std::vector<cudaGraphExec_t>& g = fine_pass ? fine_graphs_ : first_graphs_;
  if (!g.empty()) {
    CK(cudaGraphLaunch(g[bi], s));
    return true;
  }
  return fine_pass ? enqueue_fine(buckets_[bi], s, err) : enqueue_first(buckets_[bi], s, err);
}

void CudaEngine::finish(int i, const float* logits, uint32_t route, triage_result& r) {
  const int n = cfg_.ncls();
  decide_final_result(logits, n, cfg_.good, router_, cfg_.labels, in_stats_[static_cast<size_t>(i)], route,
                      probs_.data() + static_cast<size_t>(i) * n, &ood_[static_cast<size_t>(i)], r);
}

bool CudaEngine::classify(const triage_image* images, int n, bool device_input, triage_result* results, Error& err) {
  if (broken_)
    return err.set(TRIAGE_E_INTERNAL, "an earlier CUDA error left this handle's device context unusable; close it");
  if (n < 1) return err.set(TRIAGE_E_INVALID_ARGUMENT, "batch of %d images", n);
  if (n > static_cast<int>(opts_.max_batch))
    return err.set(TRIAGE_E_LIMIT, "batch of %d images exceeds options.max_batch %u", n, opts_.max_batch);
  if (!device_input && !h_pixels_)
    return err.set(TRIAGE_E_INVALID_ARGUMENT,
                   "host images need options.max_image_bytes > 0 (this handle takes device input only)");
  for (int i = 0; i < n; ++i)
    if (!check_image(images[i], i, cfg_.C, device_input, slot_bytes_, err)) return false;
  DeviceGuard guard(device_);
  CK(guard.status);
  if (device_input)
    for (int i = 0; i < n; ++i) {
      cudaPointerAttributes at;
      CK(cudaPointerGetAttributes(&at, images[i].data));
      if ((at.type != cudaMemoryTypeDevice && at.type != cudaMemoryTypeManaged) || at.device != device_)
        return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: data is not device memory of CUDA device %d", i, device_);
    }

  // The OOD input test's statistics: on the host for host input (the CPU engine's function); a
  // device-resident image is not read here, so the input test does not apply to it.
  for (int i = 0; i < n; ++i) in_stats_[static_cast<size_t>(i)] = device_input ? InputStats{} : input_stats(images[i], cfg_.input);
  // Descriptors, live count and (host input) packed pixels in pinned memory.
  const int bi = [&] {
    int i = 0;
    while (buckets_[i] < n) ++i;
    return i;
  }();
  auto* desc = reinterpret_cast<k::ImageDesc*>(h_io_ + plan_.offset[kDesc]);
  auto* ctl = reinterpret_cast<int32_t*>(h_io_ + plan_.offset[kCtl]);
  size_t staged = 0;
  for (int i = 0; i < n; ++i) {
    const triage_image& img = images[i];
    k::ImageDesc& d = desc[i];
    d.pixel = img.pixel;
    d.height = img.height;
    d.width = img.width;
    d.channels = img.channels;
    if (device_input) {
      d.data = img.data;
      d.row_stride = static_cast<int64_t>(img.row_stride);
    } else {
      pack_image_rows(img, h_pixels_ + staged);
      d.data = static_cast<uint8_t*>(buffer(kPixels)) + staged;
      d.row_stride = static_cast<int64_t>(img.width) * img.channels * (img.pixel == TRIAGE_PIXEL_U16 ? 2 : 1);
      staged += staging_slot_bytes(packed_image_bytes(img));
    }
  }
  ctl[0] = n;
  ctl[1] = 0;

  // Upload, the passes (no host round trip between them), download, wait.
  auto run = [&]() -> bool {
    const cudaStream_t s = stream_;
    CK(cudaMemcpyAsync(d_act_ + plan_.offset[kDesc], h_io_ + plan_.offset[kDesc], plan_.upload_bytes(),
                       cudaMemcpyHostToDevice, s));
    if (staged) CK(cudaMemcpyAsync(buffer(kPixels), h_pixels_, staged, cudaMemcpyHostToDevice, s));
    CK(cudaEventRecord(ev_[0], s));
    if (!launch_pass(bi, false, s, err)) return false;
    CK(cudaEventRecord(ev_[1], s));
    if (plan_.fine && !launch_pass(bi, true, s, err)) return false;
    CK(cudaEventRecord(ev_[2], s));
    CK(cudaMemcpyAsync(h_io_ + plan_.result_offset(), d_act_ + plan_.result_offset(), plan_.result_bytes(),
                       cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    return true;
  };
  // On a failure, drain the stream (pending copies still use the pinned buffers) and find out whether
  // the context is still usable.
  auto fail_sticky = [&] {
    const cudaError_t e = cudaStreamSynchronize(stream_);
    if (sticky(e)) broken_ = true;
    cudaGetLastError();  // clear a non-sticky launch error
    return false;
  };
  if (!run()) return fail_sticky();
  float ms_first = 0, ms_fine = 0;
  CK(cudaEventElapsedTime(&ms_first, ev_[0], ev_[1]));
  CK(cudaEventElapsedTime(&ms_fine, ev_[1], ev_[2]));

  const int ncls = cfg_.ncls();
  const float* lc = reinterpret_cast<const float*>(h_io_ + plan_.offset[kLogitsC]);
  const float* lf = reinterpret_cast<const float*>(h_io_ + plan_.offset[kLogitsF]);
  const int32_t* flags = reinterpret_cast<const int32_t*>(h_io_ + plan_.offset[kFlags]);
  if (cfg_.arch == Arch::Vit) {
    const float us = ms_first * 1000.f / static_cast<float>(n);
    for (int i = 0; i < n; ++i) {
      results[i] = triage_result{};
      finish(i, lf + static_cast<size_t>(i) * ncls, TRIAGE_ROUTE_FINE, results[i]);
      results[i].tokens = static_cast<uint32_t>(cfg_.tokens_fine(0));
      results[i].fine_us = us;
    }
    return true;
  }

  // The router's decisions on the host (runtime/router.cpp) over the device's coarse logits.
  int m = 0;
  bool rerun = false;
  const float coarse_us = ms_first * 1000.f / static_cast<float>(n);
  for (int i = 0; i < n; ++i) {
    triage_result& r = results[i];
    r = triage_result{};
    r.tokens = static_cast<uint32_t>(cfg_.tokens_coarse_mean());
    r.coarse_us = coarse_us;
    const float* logits = lc + static_cast<size_t>(i) * ncls;
    float* p = probs_.data() + static_cast<size_t>(i) * ncls;
    bool escalate = false;
    if (opts_.force == TRIAGE_FORCE_COARSE) {
      finish(i, logits, TRIAGE_ROUTE_COARSE, r);
    } else if (opts_.force == TRIAGE_FORCE_FINE || opts_.force == TRIAGE_FORCE_FINE_ALL) {
      escalate = true;
    } else {
      escalate = !decide_coarse_result(logits, ncls, cfg_.good, router_, cfg_.labels, in_stats_[static_cast<size_t>(i)], p,
                                       &ood_[static_cast<size_t>(i)], r);
    }
    if (escalate) {
      host_esc_[m++] = i;
      if (!flags[i]) rerun = true;  // the device exited an image the host escalates: run it
    }
  }
  if (rerun) {
    // Re-run the fine pass on the host's escalation list (the results of the images the device did
    // escalate are recomputed identically: a row never depends on the others).
    ++reruns_;
    std::memcpy(h_io_ + plan_.offset[kEsc], host_esc_.data(), static_cast<size_t>(m) * sizeof(int32_t));
    ctl[1] = m;
    auto rerun_fine = [&]() -> bool {
      const cudaStream_t s = stream_;
      CK(cudaMemcpyAsync(d_act_ + plan_.offset[kEsc], h_io_ + plan_.offset[kEsc], static_cast<size_t>(m) * sizeof(int32_t),
                         cudaMemcpyHostToDevice, s));
      CK(cudaMemcpyAsync(d_act_ + plan_.offset[kCtl], h_io_ + plan_.offset[kCtl], kCtlBytes, cudaMemcpyHostToDevice, s));
      CK(cudaEventRecord(ev_[1], s));
      if (!launch_pass(bi, true, s, err)) return false;
      CK(cudaEventRecord(ev_[2], s));
      CK(cudaMemcpyAsync(h_io_ + plan_.offset[kLogitsF], d_act_ + plan_.offset[kLogitsF], plan_.bytes[kLogitsF],
                         cudaMemcpyDeviceToHost, s));
      CK(cudaStreamSynchronize(s));
      CK(cudaEventElapsedTime(&ms_fine, ev_[1], ev_[2]));
      return true;
    };
    if (!rerun_fine()) return fail_sticky();
  }
  const float fine_us = m ? ms_fine * 1000.f / static_cast<float>(m) : 0.f;
  for (int e = 0; e < m; ++e) {
    const int i = host_esc_[e];
    triage_result& r = results[i];
    finish(i, lf + static_cast<size_t>(i) * ncls, TRIAGE_ROUTE_FINE, r);
    r.tokens += static_cast<uint32_t>(cfg_.tokens_fine(plan_.fine_k));
    r.fine_us = fine_us;
  }
  return true;
}

void CudaEngine::info(triage_model_info& o) const {
  const bool cf = cfg_.arch == Arch::CfVit;
  fill_model_info(cfg_, router_, cfg_.labels, o);
  o.isa = "cuda";
  const int fk = cf ? (opts_.force == TRIAGE_FORCE_FINE_ALL ? cfg_.Gc : cfg_.K) : 0;
  o.tokens_fine = static_cast<uint32_t>(cfg_.tokens_fine(fk));
  o.topk = static_cast<uint32_t>(fk);
  o.threads = 1;
  o.max_batch = opts_.max_batch;
  o.force = opts_.force;
  o.arena_bytes = plan_.total;
  o.weight_bytes = w_.bytes;
}

void CudaEngine::device_info(triage_cuda_info& o) const {
  o.device = device_;
  std::snprintf(o.device_name, sizeof(o.device_name), "%s", device_name_);
  o.cc_major = cc_major_;
  o.cc_minor = cc_minor_;
  o.weight_bytes = w_.bytes;
  o.activation_bytes = plan_.total;
  o.pinned_bytes = io_bytes_ + plan_.bytes[kPixels];
  o.graphs = static_cast<uint32_t>(first_graphs_.size() + (plan_.fine ? fine_graphs_.size() : 0));
  o.buckets = static_cast<uint32_t>(buckets_.size());
  o.route_reruns = reruns_;
}

}  // namespace triage::rt::gpu
