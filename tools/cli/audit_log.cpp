// The audit log (see audit_log.h and docs/audit-log.md).
#include "tools/cli/audit_log.h"

#include <chrono>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/version.h"
#include "tools/cli/text.h"
#include "tools/convert/sha256.h"

namespace triage::cli {
namespace {

using json = nlohmann::ordered_json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The members of an object, without its braces: "{\"a\":1}" -> "\"a\":1".
std::string members(const json& j) {
  const std::string s = dump(j);
  return s.size() > 2 ? s.substr(1, s.size() - 2) : std::string();
}

// The standard fields of a line; extra members may not repeat them.
const std::set<std::string> kReserved = {"time", "input", "input_sha256", "model", "model_path", "model_sha256",
                                         "model_dtype", "thresholds", "force", "triage_version", "class",
                                         "confidence", "route", "review", "unknown"};

}  // namespace

bool sha256_file(const std::string& path, std::string& hex, std::string& err) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    err = printable(path) + ": cannot open: " + std::strerror(errno);
    return false;
  }
  convert::Sha256 h;
  std::vector<uint8_t> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) h.update({buf.data(), n});
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) {
    err = printable(path) + ": read failed";
    return false;
  }
  const auto d = h.finish();
  hex = convert::to_hex(d);
  return true;
}

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char b[96];  // room for any int fields: no truncation warning
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return b;
}

AuditLog::~AuditLog() {
  if (f_) std::fclose(f_);
}

bool AuditLog::open(const std::string& file, const std::string& model_path, const triage_model* model, std::string& err) {
  if (f_) {
    err = "audit log " + printable(file_) + " is already open";
    return false;
  }
  if (!model) {
    err = "audit log: no model";
    return false;
  }
  triage_model_info info{};
  info.struct_size = sizeof info;
  if (triage_get_info(model, &info) != TRIAGE_OK) {
    err = "audit log: cannot read the model's info";
    return false;
  }
  std::string model_sha;
  if (!sha256_file(model_path, model_sha, err)) {
    err = "audit log: model " + err;
    return false;
  }
  std::FILE* f = std::fopen(file.c_str(), "ae");  // append, create; close-on-exec
  if (!f) {
    err = "cannot open the audit log " + printable(file) + " for appending: " + std::strerror(errno);
    return false;
  }
  json m;
  m["model"] = info.model_name ? info.model_name : "";
  m["model_path"] = model_path;
  m["model_sha256"] = model_sha;
  m["model_dtype"] = info.weight_dtype ? info.weight_dtype : "";
  m["thresholds"] = {{"calibrated", info.router_calibrated != 0},
                     {"fail_safe", info.fail_safe != 0},
                     {"coarse_good", info.coarse_good_threshold},
                     {"coarse_defect", info.coarse_defect_threshold},
                     {"fine_good", info.fine_good_threshold},
                     {"review", info.review_threshold}};
  m["force"] = info.force == TRIAGE_FORCE_COARSE     ? "coarse"
               : info.force == TRIAGE_FORCE_FINE     ? "fine"
               : info.force == TRIAGE_FORCE_FINE_ALL ? "fine-all"
                                                     : "none";
  m["triage_version"] = version_string();
  f_ = f;
  file_ = file;
  model_json_ = members(m);
  return true;
}

bool AuditLog::write(const AuditRecord& r, std::string& err) {
  if (!f_) {
    err = "audit log is not open";
    return false;
  }
  std::string extra;  // re-serialised: one line whatever whitespace the caller used
  if (!r.extra_json.empty()) {
    const json probe = json::parse("{" + r.extra_json + "}", nullptr, false);
    if (probe.is_discarded() || !probe.is_object()) {
      err = "audit log: extra members are not valid JSON members";
      return false;
    }
    for (const auto& [key, value] : probe.items())
      if (kReserved.count(key)) {
        err = "audit log: extra member '" + printable(key) + "' would repeat a standard field";
        return false;
      }
    extra = members(probe);
  }
  std::string input_sha;
  if (!sha256_file(r.input_path, input_sha, err)) {
    err = "audit log: input " + err;
    return false;
  }
  json head;
  head["time"] = utc_now_iso8601();
  head["input"] = r.input_path;
  head["input_sha256"] = input_sha;
  json tail;
  tail["class"] = r.cls;
  tail["confidence"] = r.confidence;
  tail["route"] = r.route;
  tail["review"] = r.review;
  if (r.unknown >= 0) tail["unknown"] = r.unknown != 0;
  std::string line = "{" + members(head) + "," + model_json_ + "," + members(tail);
  if (!extra.empty()) line += "," + extra;
  line += "}\n";
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0) {
    err = "audit log " + printable(file_) + ": write failed: " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace triage::cli
