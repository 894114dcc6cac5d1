// Router thresholds with their provenance, as the JSON file `triage calibrate --router-json` writes
// (committed as models/<name>/router.json) and as the .trw router.* metadata keys. The converter's
// --router option embeds the file into a freshly converted model, but only into the model it was
// calibrated on (same checkpoint, config and weight type): thresholds chosen for other weights carry
// no escape guarantee, so a stale file leaves the model uncalibrated, with a warning.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/convert/error.h"
#include "weights_format/trw.h"

namespace triage::convert {

inline constexpr uint64_t kMaxRouterJsonBytes = 1 << 20;

struct RouterKeys {
  std::string model_name;
  // What the thresholds were calibrated on: the model file's source.sha256, source.config_sha256
  // and converter.dtype.
  std::string source_sha256, config_sha256, dtype;
  int64_t calibrated = 1;
  double coarse_good = 2.0, coarse_defect = 0.9, fine_good = 0.5, review = 0.6;
  std::vector<double> class_review;  // per-class review thresholds (one per class), or empty: `review` for all
  // Out-of-distribution thresholds (router.ood_coarse_threshold / ood_fine_threshold, both or neither;
  // runtime/router.h ood_energy) and the false-flag rate they were calibrated to.
  bool has_ood = false;
  double ood_coarse = 0, ood_fine = 0, ood_mean_lo = 0, ood_mean_hi = 0, ood_std_lo = 0, ood_std_hi = 0;
  double ood_false_flag = 0;
  std::string provenance = "{}";  // compact JSON object (router.provenance)
};

// Strict: unknown keys, wrong types, thresholds outside [0, 2] and a provenance that is not an
// object are errors (Errc::Config). router.class_review_thresholds is optional (an array of numbers);
// so are the OOD keys ood_coarse_threshold, ood_fine_threshold, ood_input_{mean,std}_{lo,hi} (all six
// or none, |v| <= 1e6, lo <= hi) with ood_false_flag_rate (in [0, 1]).
bool parse_router_json(std::string_view text, const std::string& what, RouterKeys& out, Error& err);
std::string router_json(const RouterKeys& k);  // the file's text (indented, keys in a fixed order)

// The calibration identity of a model file (model.name, source.sha256, ...), to fill RouterKeys.
void identify_model(const trw::File& f, RouterKeys& k);
// True when k was calibrated on the model f; else why not (one line).
bool router_matches(const RouterKeys& k, const trw::File& f, std::string& why);

void set_router_keys(const RouterKeys& k, trw::Writer& w);
// Copies f's feature bits, metadata and tensors (payloads byte for byte) into w.
bool copy_model(const trw::File& f, trw::Writer& w, Error& err);
// Copies one tensor of a parsed file (payload and q8 scales byte for byte) into w.
bool copy_tensor(const trw::TensorView& t, trw::Writer& w, Error& err);

// For `triage convert --router`: rewrites the converter's own fresh output at path with the keys
// (atomically). When the file does not match k it is left as converted (uncalibrated) and warning
// says why; the return value is then still true.
bool apply_router_to_output(const std::string& path, const RouterKeys& k, std::string& warning, Error& err);

}  // namespace triage::convert
