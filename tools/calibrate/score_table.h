// What the engine said about every image of a labelled set: coarse and fine class probabilities
// (from forced routes, so both are known for every image), optionally the routed result with its
// latency and a fine-all run, plus the data hash. Calibration and evaluation work from this table.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/model_config.h"
#include "tools/cli/dataset.h"

namespace triage::calib {

struct ScoreTable {
  int ncls = 0;
  int good = 0;                         // index of the "no defect" class
  std::vector<std::string> class_names;
  std::vector<int> label;               // [n] class index of each image
  std::vector<float> coarse;            // [n, ncls] probabilities after the coarse pass
  std::vector<float> fine;              // [n, ncls] probabilities after the fine pass (K = topk)
  std::vector<float> coarse_ood, fine_ood;  // [n] each pass's energy (triage_get_ood_scores[0])
  std::vector<float> in_mean, in_std;       // [n] the input's statistics (triage_get_ood_scores[1], [2])

  size_t size() const { return label.size(); }
  const float* coarse_row(size_t i) const { return coarse.data() + i * static_cast<size_t>(ncls); }
  const float* fine_row(size_t i) const { return fine.data() + i * static_cast<size_t>(ncls); }
};

// Per image, from the routed run (the model's own thresholds) and a forced fine-all run (eval only).
struct TimedRuns {
  std::vector<int> routed_class;
  std::vector<uint8_t> routed_fine;   // 1 when the routed run escalated
  std::vector<uint8_t> routed_review;
  std::vector<uint8_t> routed_unknown;  // result.unknown of the routed run (the file's OOD thresholds)
  std::vector<float> routed_confidence;
  std::vector<uint32_t> routed_tokens, fine_all_tokens;
  std::vector<double> routed_ms, fine_all_ms;  // wall time of triage_classify
  std::vector<int> fine_all_class;
};

struct ScoreOptions {
  uint32_t threads = 1;
  bool timed = false;  // also run routed + fine-all (TimedRuns)
  bool allow_uncalibrated = false;  // open with TRIAGE_OPEN_ALLOW_UNCALIBRATED (else an uncalibrated file is fail-safe)
  // Called after each image with (done, total); may be empty.
  std::function<void(size_t, size_t)> progress;
};

struct ModelSummary {
  std::string name, dtype, isa, source_sha256, config_sha256;
  uint32_t tokens_coarse = 0, tokens_fine = 0, tokens_fine_all = 0, topk = 0, threads = 1;
  // The file's router thresholds with the policy the engine opened them under (fail_safe as
  // triage_model_info.fail_safe): what the engine's routed run decided with.
  rt::RouterThresholds router;
};

// Opens the model with the needed forced routes, maps the data set's labels onto the model's classes
// (an unknown label is an error), reads, hashes and classifies every image. data_sha256: SHA-256 of
// the sorted lines "<sha256 of the file's bytes> <label>\n", one per image (independent of order and
// of where the files live). false + err (one line) on any failure.
bool score_dataset(const std::string& model_path, const std::vector<cli::LabelledFile>& data,
                   const ScoreOptions& opt, ScoreTable& table, TimedRuns* timed, ModelSummary& model,
                   std::string& data_sha256, std::string& err);

}  // namespace triage::calib
