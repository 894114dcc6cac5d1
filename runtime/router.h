// The router's decision rules (docs/model-family.md "router.*" keys, DESIGN.md "Router and escape
// safety"), kept free of the engine so calibration and evaluation tools can reuse them verbatim.
#pragma once

#include "runtime/model_config.h"

namespace triage::rt {

// Softmax of n logits into probs (max-subtracted, f32; deterministic).
void softmax(const float* logits, int n, float* probs);

// `good` < 0: the model has no good class (every class is a defect class): there is no good exit and no
// escape; the coarse pass exits only on a confident class (coarse_defect), the final decision is the argmax.

// Most probable class other than `good` (the smallest index on ties); -1 when there is no other class.
int top_defect(const float* probs, int n, int good);

struct CoarseDecision {
  bool exit = false;  // true: the coarse result is final
  int cls = -1;       // the decided class when exit
};

// After the coarse pass: exit with the most probable defect class when its P >= coarse_defect; exit
// `good` only when P(good) >= coarse_good; otherwise escalate.
CoarseDecision decide_coarse(const float* probs, int n, int good, const RouterThresholds& t);

// The final decision of a pass that cannot escalate (the fine pass, a vit's single pass, a forced
// coarse exit): `good` only when P(good) >= fine_good, else the most probable defect class.
int decide_final(const float* probs, int n, int good, const RouterThresholds& t);

// Review flag: the decided class's probability is below the review threshold.
bool needs_review(float p_decided, const RouterThresholds& t);

}  // namespace triage::rt
