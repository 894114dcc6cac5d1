#include "tools/convert/convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "tools/convert/cast.h"
#include "tools/convert/expected_tensors.h"
#include "tools/convert/file_io.h"
#include "tools/convert/fold_bn.h"
#include "tools/convert/metadata.h"
#include "tools/convert/quantize.h"
#include "tools/convert/sha256.h"
#include "tools/convert/weight_error.h"

namespace triage::convert {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Linear and conv weights take the requested storage type; LayerNorm weights (rank 1), biases,
// tokens and position embeddings stay f32.
bool is_matrix_weight(const std::string& name, size_t rank) {
  return ends_with(name, ".weight") && (rank == 2 || rank == 4);
}

bool read_values(const Checkpoint& ckpt, const std::string& name, std::vector<float>& out, Error& err) {
  const StTensor* t = ckpt.find(name);
  if (!t) return fail(err, Errc::Tensors, "tensor " + quote_name(name) + " missing");
  if (!st_to_f32(*t, out, err)) return false;
  for (size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i]))
      return fail(err, Errc::Unsupported,
                  "tensor " + quote_name(name) + " at byte " + std::to_string(t->file_offset) +
                      " holds a non-finite value at element " + std::to_string(i),
                  t->file_offset);
  return true;
}

template <class T>
std::span<const uint8_t> as_bytes(const std::vector<T>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)};
}

// Stores one tensor in the writer as `dtype` and adds its report row.
bool store(const std::string& name, const std::vector<uint64_t>& shape, const std::vector<float>& values,
           trw::DType dtype, trw::Writer& w, ConvertReport& rep, Error& err) {
  TensorReport row;
  row.name = name;
  row.shape = shape;
  row.dtype = dtype;
  row.numel = values.size();
  trw::Error terr;
  bool ok = false;
  std::vector<float> back;
  if (dtype == trw::DType::F32) {
    ok = w.add_tensor(name, dtype, shape, as_bytes(values), terr);
    row.bytes = values.size() * 4;
  } else if (dtype == trw::DType::Q8) {
    std::vector<int8_t> q;
    std::vector<float> scales;
    quantize_q8_rows(values, shape.empty() ? 1 : shape[0], q, scales);
    ok = w.add_tensor(name, dtype, shape, as_bytes(q), terr, scales);
    row.bytes = (q.size() + 3) / 4 * 4 + scales.size() * 4;  // SPEC.md: align4(numel) + 4 * dims[0]
    dequantize_q8_rows(q, scales, back);
  } else {
    std::vector<uint16_t> h;
    if (!cast_16bit(values, dtype, "tensor " + quote_name(name), h, err)) return false;
    ok = w.add_tensor(name, dtype, shape, as_bytes(h), terr);
    row.bytes = h.size() * 2;
    uncast_16bit(h, dtype, back);
  }
  if (!ok) return fail(err, Errc::Output, "tensor " + quote_name(name) + ": " + terr.message);
  if (dtype != trw::DType::F32) {
    row.lossy = true;
    WeightError e = weight_error(values, back);
    row.max_abs_err = e.max_abs;
    row.snr_db = e.snr_db;
    rep.min_snr_db = std::min(rep.min_snr_db, e.snr_db);
  }
  rep.params += row.numel;
  rep.tensor_bytes += row.bytes;
  rep.tensors.push_back(std::move(row));
  return true;
}

}  // namespace

bool parse_storage_dtype(std::string_view s, trw::DType& out) {
  if (s == "f32") out = trw::DType::F32;
  else if (s == "f16") out = trw::DType::F16;
  else if (s == "bf16") out = trw::DType::BF16;
  else if (s == "q8") out = trw::DType::Q8;
  else return false;
  return true;
}

const char* storage_dtype_name(trw::DType t) {
  switch (t) {
    case trw::DType::F32: return "f32";
    case trw::DType::F16: return "f16";
    case trw::DType::BF16: return "bf16";
    case trw::DType::Q8: return "q8";
  }
  return "?";
}

std::string default_config_path(const std::string& checkpoint) {
  std::error_code ec;
  if (fs::is_directory(checkpoint, ec)) return (fs::path(checkpoint) / "config.json").string();
  fs::path dir = fs::path(checkpoint).parent_path();
  return (dir.empty() ? fs::path("config.json") : dir / "config.json").string();
}

bool build_trw(const ModelConfig& cfg, const Checkpoint& ckpt, trw::DType dtype, const std::string& config_sha256,
               trw::Writer& writer, ConvertReport& rep, Error& err) {
  if (!check_tensor_set(cfg, ckpt, err)) return false;
  rep.model_name = cfg.model_name;
  rep.arch = cfg.arch.name;
  rep.storage = storage_dtype_name(dtype);
  rep.source_sha256 = ckpt.sha256;
  rep.config_sha256 = config_sha256;
  rep.source_tensors = ckpt.tensors.size();
  rep.ignored_tensors = 0;
  for (const auto& t : ckpt.tensors) rep.ignored_tensors += is_ignored_tensor(t.name);
  rep.min_snr_db = std::numeric_limits<double>::infinity();
  write_metadata(cfg, rep.storage, ckpt.sha256, config_sha256, writer);

  auto type_for = [&](const std::string& name, size_t rank) {
    return is_matrix_weight(name, rank) ? dtype : trw::DType::F32;
  };
  std::vector<float> v;
  for (const auto& e : expected_checkpoint_tensors(cfg)) {
    // cfvit stem: conv + bn -> stem.{j}.weight / .bias, emitted when the conv weight comes up; the bn
    // tensors themselves are not stored.
    if (e.name.rfind("stem.", 0) == 0) {
      if (!ends_with(e.name, ".conv.weight")) continue;
      const std::string s = e.name.substr(0, e.name.size() - std::strlen("conv.weight"));  // "stem.j."
      std::vector<float> gamma, beta, mean, var, w, b;
      if (!read_values(ckpt, e.name, v, err) || !read_values(ckpt, s + "bn.weight", gamma, err) ||
          !read_values(ckpt, s + "bn.bias", beta, err) || !read_values(ckpt, s + "bn.running_mean", mean, err) ||
          !read_values(ckpt, s + "bn.running_var", var, err))
        return false;
      if (!fold_batchnorm(v, gamma, beta, mean, var, cfg.arch.bn_eps, s + "bn", w, b, err)) return false;
      if (!store(s + "weight", e.shape, w, type_for(s + "weight", e.shape.size()), writer, rep, err) ||
          !store(s + "bias", {e.shape[0]}, b, trw::DType::F32, writer, rep, err))
        return false;
      continue;
    }
    if (!read_values(ckpt, e.name, v, err)) return false;
    if (!store(e.name, e.shape, v, type_for(e.name, e.shape.size()), writer, rep, err)) return false;
  }
  return true;
}

bool convert_checkpoint(const ConvertOptions& opt, ConvertReport& rep, Error& err) {
  rep = ConvertReport{};
  if (opt.output.empty()) return fail(err, Errc::Output, "no output path given");
  const std::string config_path = opt.config.empty() ? default_config_path(opt.checkpoint) : opt.config;
  rep.checkpoint_path = resolve_checkpoint_path(opt.checkpoint);
  if (rep.checkpoint_path.empty()) rep.checkpoint_path = opt.checkpoint;
  rep.config_path = config_path;
  rep.output_path = opt.output;

  std::vector<uint8_t> config_bytes;
  if (!read_file_bytes(config_path, kMaxConfigBytes, config_bytes, err)) {
    err.message += " (config.json is required: pass --config or put it beside the checkpoint)";
    return false;
  }
  ModelConfig cfg;
  std::string_view text(reinterpret_cast<const char*>(config_bytes.data()), config_bytes.size());
  if (!parse_model_config(text, config_path, cfg, err)) return false;

  Checkpoint ckpt;
  if (!load_checkpoint(opt.checkpoint, ckpt, err)) return false;
  std::vector<std::string> inputs = ckpt.files;
  inputs.push_back(config_path);
  for (const auto& in : inputs)
    if (trw::same_file(opt.output, in))
      return fail(err, Errc::Output, "refusing to overwrite input " + in + " with the output " + opt.output);

  trw::Writer writer;
  if (!build_trw(cfg, ckpt, opt.dtype, sha256_hex(config_bytes), writer, rep, err)) return false;

  std::vector<uint8_t> bytes;
  trw::Error terr;
  if (!writer.serialize(bytes, terr)) return fail(err, Errc::Output, "serialising the .trw file: " + terr.message);
  // Self-check: what we are about to write must read back as a valid file.
  trw::Buffer buf;
  trw::File check;
  if (!buf.assign(bytes, terr) || !check.parse(buf.span(), terr))
    return fail(err, Errc::Output, "the serialised .trw file does not read back: " + terr.message);
  if (!trw::write_file_atomic(opt.output, bytes, terr))
    return fail(err, Errc::Output, opt.output + ": " + terr.message);
  rep.file_size = bytes.size();
  return true;
}

}  // namespace triage::convert
