// Nearest-class-mean head with a fitted temperature, for classes with very few images (`triage adapt
// --method ncm`, or auto when a class has fewer than kMinLogregImages images):
//
//   logit_c(x) = -||x - mu_c||^2 / (2 T)  =  (mu_c . x) / T - ||mu_c||^2 / (2 T)  + (a term equal for all c)
//
// so it is an ordinary linear head (weight mu_c / T, bias -||mu_c||^2 / (2T)) and runs in the engine
// unchanged. mu_c is the mean of class c's rows; T minimises the leave-one-out log-loss (each row scored
// against its own class's mean without it, so every class needs at least 2 groups), searched on a log
// grid and refined by golden section. Deterministic.
#pragma once

#include <vector>

#include "tools/adapt/softmax_regression.h"

namespace triage::adapt {

struct NcmReport {
  double temperature = 1;
  double loo_loss = 0;      // leave-one-out log-loss at T
  double loo_accuracy = 0;  // leave-one-out accuracy (independent of T)
};

// group[n]: rows of one image (left out together). false + err when a class has rows of fewer than 2 groups.
bool fit_nearest_mean(const Problem& p, const std::vector<int>& group, Head& out, NcmReport& rep, std::string* err);

}  // namespace triage::adapt
