// The CUDA engine: a loaded model on one device. Load parses and validates the .trw file with the CPU
// runtime's code (model_config, model_tensors), packs and uploads the weights once, allocates every
// device / pinned buffer from the plan (plan.h), and captures per batch bucket a CUDA graph of the
// coarse pass + device router/compaction, and one of the fine pass over the compacted sub-batch.
//
// Why a fine graph sized for the bucket that reads its live count from device memory (rather than one
// graph per possible escalated count): the number of escalated images m is produced on the device by the
// router kernel; a graph per count would need m on the host, i.e. a device-to-host copy and a stream
// synchronisation in the middle of every batch (and a second launch decision on the host). Reading m
// from device memory keeps one batch = two back-to-back graph launches with no host round trip; blocks
// beyond the live rows return at once, so the cost of the unused capacity is one empty block wave per
// kernel. The coarse pass uses buckets (powers of two up to max_batch) because the host knows n: a batch
// of 1 in a max_batch-64 handle launches batch-1 grids.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cuda/kernels.h"
#include "runtime/cuda/plan.h"
#include "runtime/cuda/weights.h"
#include "runtime/error.h"
#include "runtime/model_config.h"
#include "runtime/router.h"
#include "runtime/triage_cuda.h"

namespace triage::rt::gpu {

// Maps a CUDA error to a status and message ("<what>: <name> (<string>)"); returns false.
bool cuda_fail(Error& err, cudaError_t e, const char* what);

class CudaEngine {
 public:
  CudaEngine() = default;
  ~CudaEngine();
  CudaEngine(const CudaEngine&) = delete;
  CudaEngine& operator=(const CudaEngine&) = delete;

  bool load(std::span<const uint8_t> bytes, const triage_cuda_options& opts, Error& err);
  // n validated images (host pixels, or device pointers when device_input) -> results in input order.
  bool classify(const triage_image* images, int n, bool device_input, triage_result* results, Error& err);
  void info(triage_model_info& out) const;
  void device_info(triage_cuda_info& out) const;

  const ModelConfig& config() const { return cfg_; }
  const DevicePlan& plan() const { return plan_; }
  const std::vector<int>& buckets() const { return buckets_; }
  // Device address of a planned buffer (tests, benchmarks).
  void* buffer(Buf b) const { return d_act_ + plan_.offset[b]; }
  cudaStream_t stream() const { return stream_; }
  // Enqueues one bucket's passes on s without graphs (benchmarks time passes this way too).
  bool enqueue_first(int bucket, cudaStream_t s, Error& err);  // coarse pass + router, or the vit pass
  bool enqueue_fine(int bucket, cudaStream_t s, Error& err);

  Error last_error;

 private:
  template <typename T>
  T* dbuf(Buf b) const {
    return plan_.bytes[b] ? reinterpret_cast<T*>(d_act_ + plan_.offset[b]) : nullptr;
  }
  template <typename T>
  const T* wt(size_t off) const {
    return off == kNone ? nullptr : reinterpret_cast<const T*>(d_weights_ + off);
  }
  bool linear(const DevLinear& w, const void* a, const float* a_scale, int64_t lda, int M, cuda::DynCount rows,
              bool gelu, cuda::GemmOut out, void* y, int64_t ldy, float* y_scale, cudaStream_t s, Error& err) const;
  bool rows(const float* x, const cuda::RowMap& in, int n, cuda::DynCount live, bool norm, const float* g,
            const float* b, bool q8, void* y, float* y_scale, cudaStream_t s, Error& err) const;
  // Blocks [l0, l1) over `images` sequences of ntok tokens; rank: the ranking layers write their CLS
  // attention slots; probs_at: the block whose CLS attention goes to kSkipProbs (token skipping).
  bool blocks(float* x, int images, int ntok, const int32_t* count, bool rank, cudaStream_t s, Error& err, int l0 = 0,
              int l1 = -1, int probs_at = -1) const;
  bool head(const float* x, int images, int ntok, const int32_t* count, float* logits, cudaStream_t s, Error& err) const;
  bool coarse(int b, cudaStream_t s, Error& err) const;
  bool fine(int b, cudaStream_t s, Error& err) const;
  bool vit(int b, cudaStream_t s, Error& err) const;
  bool capture(int b, bool fine_pass, cudaGraphExec_t& exec, Error& err);
  void finish(int i, const float* logits, uint32_t route, triage_result& r);
  bool launch_pass(int bi, bool fine_pass, cudaStream_t s, Error& err);
  void release();

  ModelConfig cfg_;
  RouterThresholds router_;  // in force (rt::in_force): the file's thresholds under this open's policy
  DevWeights w_;
  DevicePlan plan_;
  triage_cuda_options opts_{};
  int device_ = 0;
  int cc_major_ = 0, cc_minor_ = 0;
  int smem_optin_ = 0;
  char device_name_[128] = {};
  size_t slot_bytes_ = 0;
  uint8_t* d_weights_ = nullptr;
  uint8_t* d_act_ = nullptr;
  uint8_t* h_io_ = nullptr;  // pinned mirror of the device's [kDesc, kEsc] buffers
  size_t io_bytes_ = 0;
  uint8_t* h_pixels_ = nullptr;  // pinned pixel staging
  cudaStream_t stream_ = nullptr, own_stream_ = nullptr, capture_stream_ = nullptr;
  cudaEvent_t ev_[3] = {};
  std::vector<int> buckets_;
  std::vector<cudaGraphExec_t> first_graphs_, fine_graphs_;
  std::vector<float> probs_;
  std::vector<float> ood_;
  std::vector<InputStats> in_stats_;  // host input: input_stats (OOD test); device input: not known
  std::vector<int32_t> host_esc_;
  ModelText text_;  // model name and class names (cfg_ points into it)
  bool broken_ = false;
  uint64_t reruns_ = 0;
};

}  // namespace triage::rt::gpu
