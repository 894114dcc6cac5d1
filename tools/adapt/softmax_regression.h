// Multinomial logistic regression (softmax regression) with an L2 pull towards a prior head, fitted by
// L-BFGS in double precision: the head that `triage adapt` fits on a model's CLS features.
//
//   minimise  sum_n w_n * -log softmax(W x_n + b)[y_n] / sum_n w_n  +  lambda/2 * (||W - W0||^2 + ||b - b0||^2)
//
// over W [k, d] and b [k]. The bias is pulled to its prior too: a class with no rows (an old class in
// `--classes keep|add` data that holds none of it) would otherwise have its bias driven to -infinity. Features are standardised per dimension inside
// the fit (mean 0, unit variance over the training rows; the penalty acts on the standardised weights)
// and the result is folded back, so W and b apply to the raw features. W0 is the prior (the old head's
// rows for classes it had, 0 for new classes), expressed in raw-feature units and standardised the same
// way. Deterministic: fixed loop order, no threads, no random numbers; identical input gives identical
// bits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace triage::adapt {

struct Problem {
  int n = 0, d = 0, k = 0;
  const float* x = nullptr;    // [n, d] raw features
  const int* y = nullptr;      // [n] class indices in [0, k)
  const double* w = nullptr;   // [n] sample weights (> 0), or null for 1
  const float* w0 = nullptr;   // [k, d] prior weights (raw-feature units), or null for 0
  const float* b0 = nullptr;   // [k] prior bias, or null for 0
  // [k] or null: 1 keeps class c's row (weights and bias) at its prior: `--classes add` fits only the new
  // classes' rows, so the old classes' decisions among themselves stay exactly the old head's.
  const uint8_t* frozen = nullptr;
};

struct Head {
  std::vector<float> weight;  // [k, d]
  std::vector<float> bias;    // [k]
};

struct FitReport {
  int iterations = 0;
  double loss = 0;          // objective at the solution (standardised space)
  double grad_norm = 0;     // infinity norm of the gradient at the solution
  bool converged = false;   // grad_norm <= tol before max_iter
};

struct FitOptions {
  double lambda = 1e-2;
  int max_iter = 500;
  double tol = 1e-6;
};

// false when the problem is malformed (message in err): n, d, k < 1, a label out of range, a non-finite
// feature or a non-positive weight.
bool fit_softmax_regression(const Problem& p, const FitOptions& o, Head& out, FitReport& rep, std::string* err);

// Picks lambda from `grid` by `folds`-fold cross-validation on the weighted log-loss of held-out rows.
// group[n]: rows with the same group (the coarse and fine rows of one image) always share a fold;
// folds are assigned per class in group order (stratified, deterministic). Returns the lambda with the
// smallest mean held-out loss (the larger lambda on a tie); cv_loss gets one value per grid entry.
double choose_lambda(const Problem& p, const std::vector<int>& group, const std::vector<double>& grid, int folds,
                     const FitOptions& o, std::vector<double>* cv_loss);

// Weighted mean log-loss and accuracy of a raw-feature head on rows of p (argmax; ties to the smaller index).
void evaluate_head(const Problem& p, const Head& h, const std::vector<int>& rows, double* loss, double* accuracy);

}  // namespace triage::adapt
