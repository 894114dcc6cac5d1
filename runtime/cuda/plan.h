// Host-side planning of the CUDA engine, kept free of device calls so it is tested on any machine:
// which models the CUDA kernels support, the device memory plan (every buffer sized for the worst case
// of the open options and placed in one allocation), and the batch buckets a CUDA graph is captured for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/error.h"
#include "runtime/model_config.h"

namespace triage::rt::gpu {

// Device buffers. Order matters: kDesc and kCtl are uploaded in one copy, and kCtl .. kLogitsF are
// downloaded in one copy after each classify (the result block), so they are adjacent.
enum Buf : int {
  kDesc = 0,   // [B] image descriptors (cuda::ImageDesc)
  kCtl,        // int32 control block: [0] n (live images), [1] m (escalated images)
  kFlags,      // [B] int32 escalate flags of the device router
  kLogitsC,    // [B, ncls] coarse logits (vit: unused)
  kLogitsF,    // [B, ncls] fine (or vit) logits, at the images' positions
  kEsc,        // [B] int32 escalated image indices (ascending), compacted
  kLogitsTmp,  // [B, ncls] fine logits of the compacted sub-batch
  kPixels,     // [B * max_image_bytes] staged host pixels
  // coarse pass (cfvit)
  kImgC, kS1, kGat, kEmb, kX0, kXc, kClsProbs, kScores,
  // token skipping of the coarse pass: the skip block's CLS attention, patch positions, kept sequence
  kSkipProbs, kPos, kXk,
  // shared by every block loop (sized for the largest pass)
  kAct, kActScale, kQkv, kAttn, kHid, kHidScale, kRowq,
  // fine pass (cfvit) / the single vit pass
  kImgF, kR1, kFgat, kFemb, kRact, kRactScale, kRhid, kRhidScale, kU, kXf, kOrder,
  kBufCount
};
const char* buf_name(int b);

inline constexpr size_t kDeviceAlign = 256;
inline constexpr size_t kImageDescBytes = 32;  // sizeof(cuda::ImageDesc), checked in engine.cpp
inline constexpr size_t kCtlBytes = 64;
inline constexpr int kMaxGridZ = 65535;  // CUDA grid y/z limit (per-image and per-region grids)

struct PlanOptions {
  int max_batch = 1;
  uint32_t force = 0;          // triage_force
  size_t max_image_bytes = 0;  // staged pixel bytes per image (0: device input only)
  bool rowq_staging = false;   // some q8 GEMM re-quantises rows of a width that does not fit in smem
};

struct DevicePlan {
  size_t offset[kBufCount] = {};
  size_t bytes[kBufCount] = {};
  size_t total = 0;         // bytes of the one device allocation
  int batch = 0;            // B
  int n_coarse = 0;         // 1 + Gc (cfvit), 0 (vit)
  int n_fine = 0;           // tokens of the fine (or vit) pass, 0 when no fine pass is planned
  int n_max = 0;            // max(n_coarse, n_fine)
  int fine_k = 0;           // K of the fine pass (topk, or Gc for fine-all)
  bool fine = false;        // a fine pass can run (cfvit and force != COARSE; vit: false)
  // The result block (kCtl .. kLogitsF) and the upload block (kDesc .. kCtl).
  size_t result_offset() const { return offset[kCtl]; }
  size_t result_bytes() const { return offset[kLogitsF] + bytes[kLogitsF] - offset[kCtl]; }
  size_t upload_bytes() const { return offset[kCtl] + bytes[kCtl] - offset[kDesc]; }
};

// Whether the CUDA kernels implement this model: head_dim 32 or 64, dims multiples of 16 (int8 rows of
// 16-byte chunks), patch-row widths multiples of 8 (bf16), Gc <= 1024 (top-k kernel), stem geometry.
// false + err (UNSUPPORTED).
bool check_model_support(const ModelConfig& cfg, Error& err);

// Sizes and places every buffer; false + err (LIMIT on overflow or a grid dimension over the CUDA
// limits, INVALID_ARGUMENT on bad options).
bool plan_device(const ModelConfig& cfg, const PlanOptions& o, DevicePlan& out, Error& err);

// Batch sizes a graph is captured for: the powers of two below max_batch, and max_batch.
std::vector<int> batch_buckets(int max_batch);
// The smallest bucket >= n (buckets ascending, n <= the last); -1 if none.
int bucket_for(const std::vector<int>& buckets, int n);

}  // namespace triage::rt::gpu
