#include "tools/cli/class_review_report.h"

#include <cstdio>

#include "tools/cli/text.h"

namespace triage::cli {

nlohmann::ordered_json class_review_json(const calib::ScoreTable& t, const calib::ClassReviewOptions& opt,
                                         const std::vector<calib::ClassReview>& r) {
  nlohmann::ordered_json classes = nlohmann::ordered_json::object();
  for (const calib::ClassReview& c : r)
    classes[t.class_names[static_cast<size_t>(c.cls)]] = {
        {"decided", c.decided},     {"correct", c.correct},       {"threshold", c.threshold},
        {"accepted", c.accepted},   {"purity", c.purity},         {"purity_lower_bound", c.purity_lower},
        {"rejection", c.rejection}, {"target_met", c.target_met}, {"status", c.status}};
  nlohmann::ordered_json j;
  j["method"] = "per class: candidates 0 and the confidences of the class's routed decisions; the laxest meeting "
                "the purity target, capped at the strictest within the rejection budget (or that cap alone); "
                "classes with fewer than " + std::to_string(calib::kMinClassDecisions) +
                " decisions keep the global review threshold; purity lower bound: one-sided Clopper-Pearson";
  if (opt.target_purity > 0) j["target_purity"] = opt.target_purity;
  j["max_reject"] = opt.max_reject;
  j["confidence"] = opt.confidence;
  j["classes"] = classes;
  return j;
}

void print_class_review(const calib::ScoreTable& t, const calib::ClassReviewOptions& opt,
                        const std::vector<calib::ClassReview>& r) {
  std::printf("class review per class: ");
  if (opt.target_purity > 0) std::printf("target purity %g, ", opt.target_purity);
  std::printf("max rejection %g (calibration data, routed decisions)\n", opt.max_reject);
  std::printf("  %-18s %8s %10s %9s %9s %12s  %s\n", "class", "decided", "threshold", "purity", "rejected",
              "purity >= (C)", "status");
  for (const calib::ClassReview& c : r)
    std::printf("  %-18s %8llu %10.6g %8.2f%% %8.2f%% %11.2f%%  %s\n",
                printable(t.class_names[static_cast<size_t>(c.cls)]).c_str(), static_cast<unsigned long long>(c.decided),
                c.threshold, 100 * c.purity, 100 * c.rejection, 100 * c.purity_lower, c.status.c_str());
}

}  // namespace triage::cli
