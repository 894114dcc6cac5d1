// The per-class review thresholds of `triage calibrate` (tools/calibrate/class_review.h) as JSON (the
// report and the router.provenance) and as text lines.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "tools/calibrate/class_review.h"
#include "tools/calibrate/score_table.h"

namespace triage::cli {

nlohmann::ordered_json class_review_json(const calib::ScoreTable& t, const calib::ClassReviewOptions& opt,
                                         const std::vector<calib::ClassReview>& r);
void print_class_review(const calib::ScoreTable& t, const calib::ClassReviewOptions& opt,
                        const std::vector<calib::ClassReview>& r);

}  // namespace triage::cli
