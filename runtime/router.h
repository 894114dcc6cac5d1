// The router's decision rules (docs/model-family.md "router.*" keys, DESIGN.md "Router and escape
// safety"), kept free of the engine so calibration and evaluation tools can reuse them verbatim.
#pragma once

#include "runtime/model_config.h"
#include "runtime/triage.h"

namespace triage::rt {

// The thresholds in force for one open: the file's, with the caller's policy applied.
// - coarse_only (TRIAGE_FORCE_COARSE): the final decision of a coarse pass that may not escalate is
//   made with the coarse thresholds (fine_good := coarse_good): the coarse pass never calls an image good
//   on less evidence than a routed coarse exit needs.
// - fail-safe: a file whose router is not calibrated, opened without allow_uncalibrated, never decides
//   its good class (no coarse good exit, no final good decision); an image it would have called good is
//   decided as its most probable defect class and flagged for review (final_review). A model without a
//   good class (good < 0) is never fail-safe: there is nothing to withhold.
RouterThresholds in_force(const RouterThresholds& file, int good, bool allow_uncalibrated, bool coarse_only);

// t for a coarse pass that may not escalate: its final decision uses coarse_good (fine_good := coarse_good).
RouterThresholds forced_coarse(const RouterThresholds& t);

// The out-of-distribution score of a pass's n logits: the free energy -log(sum_i exp(logit_i)), f32,
// max-shifted (-(max + log(sum exp(logit_i - max)))), deterministic. Higher: less like the training data
// (Liu et al. 2020, "Energy-based out-of-distribution detection").
float ood_energy(const float* logits, int n);
// The input's statistics for the OOD test: mean and (population) standard deviation of its samples
// divided by the model's max_value (u8 or u16), all channels, over a fixed grid of at most 64 x 64
// pixels (row y_i = floor((i + 0.5) H / gh), the same for columns), accumulated in double in grid order:
// deterministic, cheap, and the same on every backend (computed on the host from the caller's image).
struct InputStats {
  float mean = 0, std = 0;
  bool known = false;  // false: not computed (CUDA device-resident input): the input test does not apply
};
InputStats input_stats(const triage_image& img, const InputSpec& in);
// Whether a decision made by pass `route` (TRIAGE_ROUTE_*) with energy s on an input with statistics in
// is flagged unknown: s above the pass's threshold, or in.mean / in.std outside the calibrated range.
bool is_unknown(float s, uint32_t route, const InputStats& in, const RouterThresholds& t);
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
// coarse exit): `good` only when P(good) >= fine_good (never in fail-safe), else the most probable
// defect class.
int decide_final(const float* probs, int n, int good, const RouterThresholds& t);

// The review threshold of class cls: its own (class_review) where the file has per-class ones, else review.
double review_threshold(const RouterThresholds& t, int cls);

// Review flag: the decided class's probability is below that class's review threshold.
bool needs_review(float p_decided, int cls, const RouterThresholds& t);

// Review flag of a final decision (decide_final's class cls): needs_review, and in fail-safe also every
// image the fail-safe kept from being called good (P(good) >= fine_good, or good at least as probable as
// the decided class).
bool final_review(const float* probs, int cls, int good, const RouterThresholds& t);

}  // namespace triage::rt
