#include "tools/cli/ood_report.h"

#include <cstdio>

namespace triage::cli {

namespace {
nlohmann::ordered_json pass_json(const calib::OodThreshold& t) {
  return {{"threshold", t.threshold}, {"rank", t.rank}, {"n", t.n}, {"false_flag_bound", t.bound},
          {"flagged_on_calibration", t.flagged}};
}
nlohmann::ordered_json range_json(const calib::OodRange& r) {
  return {{"lo", r.lo}, {"hi", r.hi}, {"k", r.k}, {"n", r.n}, {"false_flag_bound", r.bound}};
}
}  // namespace

nlohmann::ordered_json ood_json(const calib::OodCalibration& c, double alpha) {
  return {{"method", "split conformal on held-out in-distribution images: energy -log(sum exp(logits)) of the deciding "
                     "pass above its threshold (alpha/2), or the input's mean / standard deviation (samples / max_value) "
                     "outside their range (alpha/8 per tail)"},
          {"target_false_flag", alpha},
          {"false_flag_bound", c.bound},
          {"energy_coarse", pass_json(c.coarse)},
          {"energy_fine", pass_json(c.fine)},
          {"input_mean", range_json(c.mean)},
          {"input_std", range_json(c.std)},
          {"routed_flagged_on_calibration", c.routed_flagged}};
}

void print_ood(const calib::OodCalibration& c, double alpha) {
  std::printf("ood          unknown = energy of the deciding pass above its threshold, or the input's mean / deviation\n"
              "             outside its range; in-distribution false-flag rate <= %g (split conformal; bound %.3g%%):\n",
              alpha, 100 * c.bound);
  const struct {
    const char* name;
    const calib::OodThreshold& t;
  } rows[] = {{"coarse", c.coarse}, {"fine", c.fine}};
  for (const auto& r : rows)
    std::printf("             energy %-6s > %.6g (score %zu of %zu), bound %.3g%%, %.2f%% of these images above\n", r.name,
                r.t.threshold, r.t.rank, r.t.n, 100 * r.t.bound, 100 * r.t.flagged);
  std::printf("             input mean outside [%.6g, %.6g], deviation outside [%.6g, %.6g] (k = %zu of %zu per tail)\n",
              c.mean.lo, c.mean.hi, c.std.lo, c.std.hi, c.mean.k, c.mean.n);
  std::printf("             routed decisions flagged on these images: %.2f%%\n", 100 * c.routed_flagged);
}

}  // namespace triage::cli
