// Fuzz target for the router file parser (tools/convert/router_keys.cpp: what `triage convert --router`
// and the build read from models/<name>/router.json). Invariants: a refusal is Errc::Config with a
// one-line message; a success has every threshold finite in [0, 2], at most 1024 per-class review
// thresholds, calibrated 0/1, a provenance that is a JSON object; parsing is deterministic; and the file
// written back (router_json) parses to the same keys.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/convert/router_keys.h"

#define TRIAGE_FUZZ_TARGET "fuzz_router_json"
#include "tests/fuzz/fuzz_check.h"

namespace {

using triage::convert::RouterKeys;

bool in_range(double v) { return std::isfinite(v) && v >= 0 && v <= 2; }

bool same(const RouterKeys& a, const RouterKeys& b) {
  return a.model_name == b.model_name && a.source_sha256 == b.source_sha256 && a.config_sha256 == b.config_sha256 &&
         a.dtype == b.dtype && a.calibrated == b.calibrated && a.coarse_good == b.coarse_good &&
         a.coarse_defect == b.coarse_defect && a.fine_good == b.fine_good && a.review == b.review &&
         a.class_review == b.class_review && a.provenance == b.provenance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > triage::convert::kMaxRouterJsonBytes) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  RouterKeys a, b;
  triage::convert::Error ea, eb;
  const bool ok = triage::convert::parse_router_json(text, "fuzz.json", a, ea);
  FUZZ_CHECK(ok == triage::convert::parse_router_json(text, "fuzz.json", b, eb), "deterministic");
  if (!ok) {
    FUZZ_CHECK(ea.code == triage::convert::Errc::Config, "a refusal is a config error");
    FUZZ_CHECK(!ea.message.empty() && ea.message.find('\n') == std::string::npos && ea.message == eb.message,
               "one-line refusal message");
    return 0;
  }
  FUZZ_CHECK(same(a, b), "deterministic keys");
  FUZZ_CHECK(a.calibrated == 0 || a.calibrated == 1, "calibrated 0/1");
  FUZZ_CHECK(in_range(a.coarse_good) && in_range(a.coarse_defect) && in_range(a.fine_good) && in_range(a.review),
             "thresholds in [0, 2]");
  FUZZ_CHECK(a.class_review.size() <= 1024, "class review count");
  for (double v : a.class_review) FUZZ_CHECK(in_range(v), "class review thresholds in [0, 2]");
  FUZZ_CHECK(!a.provenance.empty() && a.provenance.front() == '{', "provenance is an object");
  // Written back and read again: the same keys (the provenance as its compact dump).
  RouterKeys c;
  triage::convert::Error ec;
  FUZZ_CHECK(triage::convert::parse_router_json(triage::convert::router_json(a), "again.json", c, ec), "round trip parses");
  FUZZ_CHECK(same(a, c), "round trip keys");
  return 0;
}
