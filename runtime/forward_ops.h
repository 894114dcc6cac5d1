// The forward passes' operations, each a kernels.h call split statically across the thread pool.
// The kernels make every output element independent of the split, so results do not depend on the
// thread count.
#pragma once

#include <cstdint>

#include "kernels/cpu/kernels.h"
#include "runtime/op_profile.h"
#include "runtime/packed_model.h"
#include "runtime/thread_pool.h"

namespace triage::rt {

struct Exec {
  kernels::Isa isa = kernels::Isa::Scalar;
  ThreadPool* pool = nullptr;
  float* scratch = nullptr;  // [threads, scratch_floats]
  size_t scratch_floats = 0;
  OpProfile* profile = nullptr;  // per-op timing (runtime/op_profile.h), or nullptr: off
  int pass = 0;                  // the profile row the ops count into: 0 coarse, 1 fine / vit
  float* thread_scratch(int t) const { return scratch + static_cast<size_t>(t) * scratch_floats; }
};

// Input rows of a linear: f32 (f) or int8 per-token quantised (q + scale), row stride ld elements.
struct ActRows {
  const float* f = nullptr;
  const int8_t* q = nullptr;
  const float* scale = nullptr;
  int64_t ld = 0;
};

// ep applied to x W^T for rows [0, M).
void run_linear(const Exec& ex, const PackedLinear& w, const ActRows& x, int M, const kernels::GemmEpilogue& ep);

// LayerNorm of rows x (stride ldx) into y (stride ldy): f32 when !q8, else int8 + per-row scales.
void run_layernorm(const Exec& ex, const float* x, int64_t ldx, int rows, int dim, const float* g, const float* b,
                   float eps, bool q8, void* y, int64_t ldy, float* y_scale);

// Per-token int8 quantisation of rows.
void run_quantize(const Exec& ex, const float* x, int64_t ldx, int rows, int dim, int8_t* y, int64_t ldy,
                  float* y_scale);

// Multi-head attention for `images` stacked images of n tokens each: qkv [images*n, 3D] -> out
// [images*n, D]. cls_probs (optional): [images, H, n] per-head CLS probabilities.
void run_attention(const Exec& ex, const float* qkv, int images, int n, int D, int H, float* out, float* cls_probs);
// run_attention's split of each head's n queries into blocks (forward_ops.cpp), exposed for its test.
int attention_query_blocks(int images, int heads, int threads, int n);
int query_block_start(int n, int qs, int j);

}  // namespace triage::rt
