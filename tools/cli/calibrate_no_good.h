// `triage calibrate` for a model without a good class: chooses router.coarse_defect_threshold with a
// bound on the exit-error rate (tools/calibrate/exit_risk.h), reports it and writes the new model.
#pragma once

#include <string>

#include "tools/calibrate/class_review.h"
#include "tools/calibrate/exit_risk.h"
#include "tools/calibrate/score_table.h"

namespace triage::cli {

struct CalibrateIo {
  std::string model_path, out_path, json_path, data_path, data_sha256, date;
  bool json = false;
  const calib::ClassReviewOptions* class_review = nullptr;  // also choose per-class review thresholds
  double ood_false_flag = 0;  // > 0: also choose OOD thresholds at this false-flag rate (--ood-false-flag)
};

// Exit status: 0 written, 1 refused or failed (one line on stderr).
int calibrate_no_good(const calib::ScoreTable& table, const calib::ModelSummary& model, const CalibrateIo& io,
                      const calib::ExitRiskOptions& opt);

}  // namespace triage::cli
