// Per-op-class wall time of the forward passes (issue 19: the per-pass cost breakdown). Off unless a
// profile is attached (runtime/op_profile_access.h, for benchmarks): each timed op then costs two clock
// reads; without one, a null check. Time is the calling thread's wall time around each op, which
// includes the thread pool's dispatch and join, so a pass's ops sum to the pass.
#pragma once

#include <chrono>
#include <cstdint>

namespace triage::rt {

enum class Op : int {
  Preprocess,  // resize + normalise (the fine pass: only the re-split row bands)
  Stem,        // the two 3x3 stride-2 convolutions and the patch gather
  PatchProj,   // the patch projection GEMM
  LayerNorm,   // LN1 / LN2 (+ per-token quantisation for q8), the quantisation before proj
  Qkv,         // the QKV GEMM
  Attention,   // softmax(QK^T)V over all heads, + the ranking scores of the ranked layers
  Proj,        // the attention output GEMM (+ residual)
  Fc1,         // MLP fc1 GEMM (+ GELU, + requantisation)
  Fc2,         // MLP fc2 GEMM (+ residual)
  Head,        // final LayerNorm + head GEMM on the CLS rows
  Reuse,       // fine pass: region selection, the reuse MLP over the coarse features, fine-token assembly
  Route,       // the router's decisions (softmax, thresholds, OOD scores) and result filling
  Count
};
inline constexpr int kOpCount = static_cast<int>(Op::Count);
const char* op_name(Op op);

struct OpProfile {
  // [pass][op]: pass 0 the coarse pass (cfvit), pass 1 the fine pass (or a vit's single pass).
  double seconds[2][kOpCount] = {};
  double macs[2][kOpCount] = {};  // multiply-accumulates of the GEMMs / convs / attention (0: not counted)
  uint64_t images[2] = {};        // images that ran each pass
  void reset() { *this = OpProfile{}; }
};

class OpTimer {
 public:
  OpTimer(OpProfile* p, int pass, Op op, double macs = 0) : p_(p), pass_(pass), op_(static_cast<int>(op)), macs_(macs) {
    if (p_) t0_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (!p_) return;
    p_->seconds[pass_][op_] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    p_->macs[pass_][op_] += macs_;
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  OpProfile* p_;
  int pass_, op_;
  double macs_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace triage::rt
