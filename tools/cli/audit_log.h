// The audit log of `triage run`, `eval` and `klarf` (--audit FILE.jsonl): one JSON object per line and
// per decision, appended and flushed line by line, so that a fab can show later which model file, with
// which thresholds, decided what about which input bytes. Schema: docs/audit-log.md.
#pragma once

#include <cstdio>
#include <string>

#include "runtime/triage.h"

namespace triage::cli {

struct AuditRecord {
  std::string input_path;  // the image / map file
  std::string cls;         // decided class name
  float confidence = 0;
  std::string route;       // "coarse" | "fine" | ...
  bool review = false;
  std::string extra_json;  // optional: extra members already JSON-encoded ("\"defect_id\":12"), or empty
  int unknown = -1;        // result.unknown (0/1), or -1: the model has no OOD thresholds (no "unknown" member)
};

class AuditLog {
 public:
  AuditLog() = default;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog();

  // Opens FILE for append (creates it), remembers the model path, its SHA-256 and name, and the
  // thresholds in force (read from the opened model via triage_get_info). false + err (one line) when
  // the file cannot be opened for writing or the model file cannot be read.
  bool open(const std::string& file, const std::string& model_path, const triage_model* model, std::string& err);
  // One JSON line: time (UTC ISO-8601 with ms), input path and its SHA-256, model sha256 + name,
  // thresholds, class, confidence, route, review (+ extra); fflush after each line. false + err when the
  // input cannot be hashed, extra_json is not a list of JSON members, or the write fails.
  bool write(const AuditRecord& r, std::string& err);
  bool is_open() const { return f_ != nullptr; }

 private:
  std::FILE* f_ = nullptr;
  std::string file_;
  std::string model_json_;  // the members describing the model, JSON-encoded, without braces
};

// Lower-case hex SHA-256 of a file's bytes, read in chunks. false + err (naming the file) on failure.
bool sha256_file(const std::string& path, std::string& hex, std::string& err);

// The current time as UTC ISO-8601 with milliseconds: "2026-12-02T08:15:30.123Z".
std::string utc_now_iso8601();

}  // namespace triage::cli
