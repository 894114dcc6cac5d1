#include "tools/calibrate/write_calibrated.h"

#include "tools/convert/router_keys.h"
#include "weights_format/trw.h"
#include "weights_format/signed_file.h"

namespace triage::calib {

bool write_calibrated_model(const std::string& model_path, const std::string& out_path, const std::string& json_path,
                            const rt::RouterThresholds& th, const std::string& provenance_json, std::string& err) {
  convert::RouterKeys keys;
  trw::Buffer buf;
  trw::File f;
  trw::Error terr;
  if (!buf.read_file(model_path, terr) || !trw::parse_model_part(buf.span(), f, terr)) {
    err = model_path + ": " + terr.message;
    return false;
  }
  convert::identify_model(f, keys);
  keys.calibrated = 1;
  keys.coarse_good = th.coarse_good;
  keys.coarse_defect = th.coarse_defect;
  keys.fine_good = th.fine_good;
  keys.review = th.review;
  keys.class_review.assign(th.class_review.begin(), th.class_review.end());
  keys.has_ood = th.has_ood;
  keys.ood_coarse = th.has_ood ? th.ood_coarse : 0.0;
  keys.ood_fine = th.has_ood ? th.ood_fine : 0.0;
  keys.ood_mean_lo = th.has_ood ? th.ood_mean_lo : 0.0;
  keys.ood_mean_hi = th.has_ood ? th.ood_mean_hi : 0.0;
  keys.ood_std_lo = th.has_ood ? th.ood_std_lo : 0.0;
  keys.ood_std_hi = th.has_ood ? th.ood_std_hi : 0.0;
  keys.ood_false_flag = th.has_ood ? th.ood_false_flag : 0.0;
  keys.provenance = provenance_json;
  trw::Writer w;
  convert::Error cerr;
  if (!convert::copy_model(f, w, cerr)) {
    err = cerr.message;
    return false;
  }
  convert::set_router_keys(keys, w);
  if (!w.write_file(out_path, terr, model_path)) {
    err = out_path + ": " + terr.message;
    return false;
  }
  if (!json_path.empty()) {
    const std::string text = convert::router_json(keys);
    if (!trw::write_file_atomic(json_path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, terr)) {
      err = json_path + ": " + terr.message;
      return false;
    }
  }
  return true;
}

}  // namespace triage::calib
