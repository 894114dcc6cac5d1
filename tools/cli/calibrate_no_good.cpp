#include "tools/cli/calibrate_no_good.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "runtime/version.h"
#include "tools/calibrate/learn_then_test.h"
#include "tools/calibrate/routed_counts.h"
#include "tools/calibrate/write_calibrated.h"
#include "tools/cli/class_review_report.h"
#include "tools/cli/ood_report.h"
#include "tools/cli/stats.h"
#include "tools/cli/text.h"

namespace triage::cli {
namespace {

using json = nlohmann::ordered_json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g%%", 100 * v);
  return b;
}

json trial_json(const calib::ExitTrial& t) {
  return {{"coarse_defect", t.coarse_defect}, {"exits", t.exits},      {"exit_errors", t.exit_errors},
          {"exit_wrong", t.exit_wrong},       {"correct", t.correct},  {"p_value", t.p_value},
          {"certified", t.certified}};
}

}  // namespace

int calibrate_no_good(const calib::ScoreTable& table, const calib::ModelSummary& model, const CalibrateIo& io,
                      const calib::ExitRiskOptions& opt) {
  const calib::ExitRiskResult r = calib::calibrate_exit_risk(table, opt);
  json j;
  j["model"] = {{"name", model.name}, {"path", io.model_path}, {"dtype", model.dtype}, {"source_sha256", model.source_sha256}};
  j["method"] = "no good class: learn-then-test, one fixed sequence over coarse_defect_threshold (strict to lax); "
                "risk = exit errors (coarse class wrong where the fine pass is right) per image; exact binomial "
                "(Clopper-Pearson) p-values at level 1-C";
  j["target_exit_error"] = opt.target;
  j["confidence"] = opt.confidence;
  j["min_images_zero_exit_errors"] = r.n_required;
  j["data"] = io.data_path;
  j["data_sha256"] = io.data_sha256;
  j["images"] = r.n;
  j["tool"] = std::string("triage calibrate ") + version_string();
  j["date"] = io.date;
  if (!r.ok) {
    j["refused"] = r.refusal;
    if (io.json) std::printf("%s\n", dump(j).c_str());
    std::fprintf(stderr, "triage calibrate: refused: %s\n", r.refusal.c_str());
    return 1;
  }
  const calib::ExitTrial& c = r.chosen;
  const double bound = clopper_pearson_upper(c.exit_errors, r.n, opt.confidence);
  j["chosen"] = trial_json(c);
  j["exit_error_bound"] = bound;
  j["escalation_rate"] = calib::rate(r.n - c.exits, r.n);
  j["accuracy_routed"] = calib::rate(c.correct, r.n);
  j["accuracy_fine"] = calib::rate(r.fine_correct, r.n);
  const calib::ExitTrial& last = r.trials.back();
  j["stopped_at"] = last.certified ? json(nullptr) : json(last.coarse_defect);
  rt::RouterThresholds th = r.thresholds;
  std::vector<calib::ClassReview> cr;
  if (io.class_review) {
    cr = calib::choose_class_review(table, th, *io.class_review);
    const std::vector<double> crt = calib::class_review_thresholds(cr);
    th.class_review.assign(crt.begin(), crt.end());  // one per class: within the cap
    j["class_review"] = class_review_json(table, *io.class_review, cr);
    j["review_rate"] = calib::rate(calib::count_routed(table, th).review, r.n);
  }
  calib::OodCalibration ood;
  if (io.ood_false_flag > 0) {
    ood = calib::calibrate_ood(table, io.ood_false_flag, th);
    if (!ood.ok) {
      std::fprintf(stderr, "triage calibrate: refused: OOD thresholds: %s\n", printable(ood.why).c_str());
      return 1;
    }
    j["ood"] = ood_json(ood, io.ood_false_flag);
  }
  json prov = j;
  prov.erase("model");
  prov["model_source_sha256"] = model.source_sha256;
  prov["model_dtype"] = model.dtype;
  std::string err;
  if (!calib::write_calibrated_model(io.model_path, io.out_path, io.json_path, th, dump(prov), err)) {
    std::fprintf(stderr, "triage calibrate: %s\n", printable(err).c_str());
    return 1;
  }
  j["thresholds"] = {{"coarse_good_threshold", r.thresholds.coarse_good},
                     {"fine_good_threshold", r.thresholds.fine_good},
                     {"coarse_defect_threshold", r.thresholds.coarse_defect},
                     {"review_threshold", r.thresholds.review}};
  j["trials"] = json::array();
  for (const calib::ExitTrial& t : r.trials) j["trials"].push_back(trial_json(t));
  j["output"] = io.out_path;
  if (!io.json_path.empty()) j["router_json"] = io.json_path;
  if (io.json) {
    std::printf("%s\n", dump(j).c_str());
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  std::printf("model        %s (%s, %s): no good class\n", printable(model.name).c_str(), model.dtype.c_str(),
              printable(io.model_path).c_str());
  std::printf("data         %s: %llu images, sha256 %s\n", printable(io.data_path).c_str(),
              static_cast<unsigned long long>(r.n), io.data_sha256.c_str());
  std::printf("target       exit-error rate <= %g (coarse class wrong where the fine pass is right, per image), "
              "confidence %g\n", opt.target, opt.confidence);
  std::printf("method       Learn-then-Test: one fixed sequence of %zu coarse_defect values (strict->lax), stop at first\n"
              "             failure, exact binomial (Clopper-Pearson) p-values at level %.3g\n",
              opt.grid.empty() ? calib::default_coarse_grid().size() : opt.grid.size(), 1 - opt.confidence);
  std::printf("sample need  >= %llu images with 0 exit errors for E at C (ln(1-C)/ln(1-E))\n",
              static_cast<unsigned long long>(r.n_required));
  std::printf("chosen       coarse_defect %.9g  (no good exit; review %.9g)\n", c.coarse_defect, r.thresholds.review);
  std::printf("exit errors  %llu / %llu images (%s); upper bound %s at confidence %g; exits %s of images, "
              "%llu of them wrong\n", static_cast<unsigned long long>(c.exit_errors), static_cast<unsigned long long>(r.n),
              pct(calib::rate(c.exit_errors, r.n)).c_str(), pct(bound).c_str(), opt.confidence,
              pct(calib::rate(c.exits, r.n)).c_str(), static_cast<unsigned long long>(c.exit_wrong));
  std::printf("accuracy     routed %s, always-fine %s; escalation %s\n", pct(calib::rate(c.correct, r.n)).c_str(),
              pct(calib::rate(r.fine_correct, r.n)).c_str(), pct(calib::rate(r.n - c.exits, r.n)).c_str());
  std::printf("sequence     %zu thresholds tested, %s\n", r.trials.size(),
              last.certified ? "all passed" : ("stopped at coarse_defect " + std::to_string(last.coarse_defect)).c_str());
  if (io.class_review) print_class_review(table, *io.class_review, cr);
  if (io.ood_false_flag > 0) print_ood(ood, io.ood_false_flag);
  std::printf("wrote        %s (router.calibrated=1)%s%s\n", printable(io.out_path).c_str(), io.json_path.empty() ? "" : ", ",
              printable(io.json_path).c_str());
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace triage::cli
