// The oracle wrapped like the engine: loads .trw bytes and classifies one image with the same router
// rules, so engine results can be compared with it image by image.
#pragma once

#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/model_config.h"
#include "runtime/model_tensors.h"
#include "runtime/oracle_forward.h"
#include "runtime/router.h"
#include "weights_format/trw.h"

namespace triage::test {

struct OracleResult {
  std::vector<float> coarse_logits, logits;  // logits: of the deciding pass
  int cls = -1;
  bool fine = false;
};

class OracleRunner {
 public:
  explicit OracleRunner(std::span<const uint8_t> bytes) {
    trw::Error te;
    if (!buf_.assign(bytes, te) || !file_.parse(buf_.span(), te)) throw std::runtime_error("oracle: " + te.message);
    rt::Error err;
    if (!rt::load_config(file_, cfg_, text_, err) || !rt::bind_tensors(file_, cfg_, tensors_, err))
      throw std::runtime_error(std::string("oracle: ") + err.message);
    oracle_.init(cfg_, tensors_);
  }
  const rt::ModelConfig& config() const { return cfg_; }
  const rt::Oracle& oracle() const { return oracle_; }
  // The same weights with other token-skipping keys (keep_coarse 0: no coarse skipping; keep_fine -1:
  // none in the fine pass), as a file with those arch keys would load.
  rt::Oracle with_skipping(int keep_coarse, int skip_layer, int keep_fine, rt::ModelConfig* cfg_out = nullptr) const {
    rt::ModelConfig c = cfg_;
    c.keep_coarse = keep_coarse;
    c.skip_layer = skip_layer;
    c.keep_fine = keep_fine;
    rt::Oracle o;
    o.init(c, tensors_);
    if (cfg_out) *cfg_out = c;
    return o;
  }

  // force: TRIAGE_FORCE_* as in the options; allow_uncalibrated: TRIAGE_OPEN_ALLOW_UNCALIBRATED (the
  // thresholds in force follow rt::in_force, as the engine's).
  OracleResult classify(const triage_image& img, uint32_t force, bool allow_uncalibrated = true) const {
    OracleResult r;
    const int n = cfg_.ncls();
    const rt::RouterThresholds th =
        rt::in_force(cfg_.router, cfg_.good, allow_uncalibrated, cfg_.arch == rt::Arch::CfVit && force == TRIAGE_FORCE_COARSE);
    std::vector<float> p(n);
    if (cfg_.arch == rt::Arch::Vit) {
      r.logits = oracle_.vit(oracle_.preprocess(img, cfg_.Sf));
      r.fine = true;
    } else {
      const rt::Oracle::Coarse co = oracle_.coarse(oracle_.preprocess(img, cfg_.Sc));
      r.coarse_logits = r.logits = co.logits;
      rt::softmax(co.logits.data(), n, p.data());
      bool escalate = force == TRIAGE_FORCE_FINE || force == TRIAGE_FORCE_FINE_ALL;
      if (force == TRIAGE_FORCE_NONE) {
        const rt::CoarseDecision d = rt::decide_coarse(p.data(), n, cfg_.good, th);
        if (d.exit) {
          r.cls = d.cls;
          return r;
        }
        escalate = true;
      }
      if (escalate) {
        const int k = force == TRIAGE_FORCE_FINE_ALL ? cfg_.Gc : cfg_.K;
        r.logits = oracle_.fine(oracle_.preprocess(img, cfg_.Sf), co, k);
        r.fine = true;
      }
    }
    rt::softmax(r.logits.data(), n, p.data());
    r.cls = rt::decide_final(p.data(), n, cfg_.good, th);
    return r;
  }

 private:
  trw::Buffer buf_;
  trw::File file_;
  rt::ModelConfig cfg_;
  rt::ModelText text_;
  rt::ModelTensors tensors_;
  rt::Oracle oracle_;
};

// Centred log-probabilities: the logits up to the constant softmax removes (what results expose).
inline std::vector<float> centred_log(const float* p, int n) {
  std::vector<float> v(n);
  double mean = 0;
  for (int i = 0; i < n; ++i) mean += (v[i] = std::log(std::max(p[i], 1e-30f)));
  mean /= n;
  for (float& x : v) x = static_cast<float>(x - mean);
  return v;
}
inline std::vector<float> centred(const std::vector<float>& logits) {
  std::vector<float> v(logits);
  double mean = 0;
  for (float x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (float& x : v) x = static_cast<float>(x - mean);
  return v;
}

}  // namespace triage::test
