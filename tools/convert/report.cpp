#include "tools/convert/report.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace triage::convert {
namespace {

std::string shape_str(const std::vector<uint64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string snr_str(double snr) { return std::isinf(snr) && snr > 0 ? "exact" : fmt("%.1f", snr); }

const char* storage_name(trw::DType t) {
  switch (t) {
    case trw::DType::F32: return "f32";
    case trw::DType::F16: return "f16";
    case trw::DType::BF16: return "bf16";
    case trw::DType::Q8: return "q8";
  }
  return "?";
}

}  // namespace

std::string report_text(const ConvertReport& r) {
  std::string s;
  char line[512];
  s += "model       " + r.model_name + " (" + r.arch + "), weights " + r.storage + "\n";
  s += "checkpoint  " + r.checkpoint_path + "  sha256 " + r.source_sha256 + "\n";
  s += "config      " + r.config_path + "  sha256 " + r.config_sha256 + "\n";
  s += "read        " + std::to_string(r.source_tensors) + " tensors (" + std::to_string(r.ignored_tensors) +
       " ignored: num_batches_tracked; stem batch norms folded into the convs)\n\n";
  std::snprintf(line, sizeof line, "%-34s %-18s %-5s %12s %12s %8s\n", "tensor", "shape", "type", "bytes",
                "max_abs_err", "snr_db");
  s += line;
  for (const auto& t : r.tensors) {
    std::snprintf(line, sizeof line, "%-34s %-18s %-5s %12llu %12s %8s\n", t.name.c_str(), shape_str(t.shape).c_str(),
                  storage_name(t.dtype), static_cast<unsigned long long>(t.bytes),
                  t.lossy ? fmt("%.3g", t.max_abs_err).c_str() : "-", t.lossy ? snr_str(t.snr_db).c_str() : "-");
    s += line;
  }
  s += "\n";
  s += "total       " + std::to_string(r.tensors.size()) + " tensors, " + std::to_string(r.params) + " params, " +
       std::to_string(r.tensor_bytes) + " tensor bytes, file " + std::to_string(r.file_size) + " bytes\n";
  s += "min snr     " + snr_str(r.min_snr_db) + " dB over quantised/cast tensors\n";
  s += "output      " + r.output_path + "\n";
  return s;
}

std::string report_json(const ConvertReport& r) {
  using json = nlohmann::json;
  auto snr = [](double v) { return std::isinf(v) && v > 0 ? json(nullptr) : json(v); };
  json tensors = json::array();
  for (const auto& t : r.tensors) {
    json e = {{"name", t.name}, {"shape", t.shape}, {"type", storage_name(t.dtype)}, {"params", t.numel},
              {"bytes", t.bytes}};
    if (t.lossy) {
      e["max_abs_err"] = t.max_abs_err;
      e["snr_db"] = snr(t.snr_db);
    }
    tensors.push_back(std::move(e));
  }
  json j = {{"model_name", r.model_name},
            {"arch", r.arch},
            {"dtype", r.storage},
            {"checkpoint", r.checkpoint_path},
            {"config", r.config_path},
            {"source_sha256", r.source_sha256},
            {"config_sha256", r.config_sha256},
            {"source_tensors", r.source_tensors},
            {"ignored_tensors", r.ignored_tensors},
            {"tensors", std::move(tensors)},
            {"params", r.params},
            {"tensor_bytes", r.tensor_bytes},
            {"file_size", r.file_size},
            {"min_snr_db", snr(r.min_snr_db)},
            {"output", r.output_path}};
  // replace: a path or name with invalid UTF-8 must not make dump() throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace triage::convert
