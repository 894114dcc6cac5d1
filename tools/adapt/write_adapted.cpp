#include "tools/adapt/write_adapted.h"

#include <cstring>
#include <span>

#include "tools/convert/cast.h"
#include "tools/convert/metadata.h"
#include "tools/convert/quantize.h"
#include "tools/convert/router_keys.h"
#include "tools/convert/sha256.h"

namespace triage::adapt {
namespace {

// One head tensor in the base's dtype: the stored payload (and q8 scales), and the values it reads as.
struct Encoded {
  trw::DType dtype = trw::DType::F32;
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  std::vector<float> values;
};

bool encode(const trw::TensorView& like, const std::vector<float>& v, uint64_t rows, Encoded& e, std::string& err) {
  e.dtype = like.dtype;
  switch (like.dtype) {
    case trw::DType::F32:
      e.bytes.resize(v.size() * 4);
      std::memcpy(e.bytes.data(), v.data(), e.bytes.size());
      e.values = v;
      return true;
    case trw::DType::F16:
    case trw::DType::BF16: {
      std::vector<uint16_t> h;
      convert::Error cerr;
      if (!convert::cast_16bit(v, like.dtype, std::string(like.name), h, cerr)) {
        err = cerr.message;
        return false;
      }
      e.bytes.resize(h.size() * 2);
      std::memcpy(e.bytes.data(), h.data(), e.bytes.size());
      convert::uncast_16bit(h, like.dtype, e.values);
      return true;
    }
    case trw::DType::Q8: {
      std::vector<int8_t> q;
      convert::quantize_q8_rows(v, rows, q, e.scales);
      e.bytes.resize(q.size());
      std::memcpy(e.bytes.data(), q.data(), q.size());
      convert::dequantize_q8_rows(q, e.scales, e.values);
      return true;
    }
  }
  err = "head tensor " + std::string(like.name) + " has an unknown dtype";
  return false;
}

// The base's head tensors, checked for shape: head.weight [ncls, D], head.bias [ncls].
bool head_tensors(const trw::File& base, const trw::TensorView*& tw, const trw::TensorView*& tb, std::string& err) {
  tw = base.find_tensor("head.weight");
  tb = base.find_tensor("head.bias");
  if (!tw || !tb || tw->rank != 2 || tb->rank != 1 || tb->dims[0] != tw->dims[0]) {
    err = "the model has no head.weight [ncls, D] / head.bias [ncls]";
    return false;
  }
  return true;
}

// A stored tensor's values as the runtime reads them (q8 dequantised, 16-bit widened).
void decode(const trw::TensorView& t, std::vector<float>& out) {
  switch (t.dtype) {
    case trw::DType::Q8:
      convert::dequantize_q8_rows({reinterpret_cast<const int8_t*>(t.data), static_cast<size_t>(t.numel)},
                                  {t.scales, static_cast<size_t>(t.dims[0])}, out);
      return;
    case trw::DType::F16:
    case trw::DType::BF16: {
      std::vector<uint16_t> h(t.numel);
      std::memcpy(h.data(), t.data, t.numel * 2);
      convert::uncast_16bit(h, t.dtype, out);
      return;
    }
    case trw::DType::F32:
      break;
  }
  out.resize(t.numel);
  std::memcpy(out.data(), t.data, t.numel * 4);
}

bool encode_head(const trw::File& base, const Head& h, Encoded& w, Encoded& b, std::string& err) {
  const trw::TensorView *tw = nullptr, *tb = nullptr;
  if (!head_tensors(base, tw, tb, err)) return false;
  const uint64_t D = tw->dims[1];
  const uint64_t k = h.bias.size();
  if (k == 0 || h.weight.size() != k * D) {
    err = "the new head's shape does not match the model's embed_dim";
    return false;
  }
  return encode(*tw, h.weight, k, w, err) && encode(*tb, h.bias, k, b, err);  // a q8 vector: one row per element
}

}  // namespace

bool read_head(const trw::File& base, Head& out, std::string& err) {
  const trw::TensorView *tw = nullptr, *tb = nullptr;
  if (!head_tensors(base, tw, tb, err)) return false;
  decode(*tw, out.weight);
  decode(*tb, out.bias);
  return true;
}

bool stored_head(const trw::File& base, const Head& h, Head& out, std::string& err) {
  Encoded w, b;
  if (!encode_head(base, h, w, b, err)) return false;
  out.weight = w.values;
  out.bias = b.values;
  return true;
}

bool write_adapted_model(const trw::File& base, const AdaptedModel& m, const std::string& out_path,
                         const std::string& input_path, std::string& err) {
  Encoded w, b;
  if (!encode_head(base, m.head, w, b, err)) return false;
  const uint64_t k = m.labels.size(), D = base.find_tensor("head.weight")->dims[1];
  if (k != m.head.bias.size()) {
    err = "labels and head rows differ in number";
    return false;
  }
  trw::Writer wr;
  wr.set_required_features(base.required_features());
  wr.set_optional_features(base.optional_features());
  wr.copy_metadata_from(base);
  wr.set_str_array("labels", m.labels);
  wr.set_str("good_label", m.good_label);
  convert::write_uncalibrated_router(wr);
  // The derived weights get their own identity, so thresholds calibrated on the base never match them.
  std::string base_sha;
  trw::Error terr;
  base.get_str("source.sha256", base_sha, terr);
  convert::Sha256 sh;
  sh.update({reinterpret_cast<const uint8_t*>(base_sha.data()), base_sha.size()});
  sh.update(w.bytes);
  sh.update({reinterpret_cast<const uint8_t*>(w.scales.data()), w.scales.size() * 4});
  sh.update(b.bytes);
  wr.set_str("source.sha256", convert::to_hex(sh.finish()));
  wr.set_str("adapt.base_source_sha256", base_sha);
  wr.set_str("adapt.provenance", m.provenance_json);
  const uint64_t dims_w[2] = {k, D}, dims_b[1] = {k};
  for (const trw::TensorView& t : base.tensors()) {
    const bool is_w = t.name == "head.weight";
    if (!is_w && t.name != "head.bias") {
      convert::Error cerr;
      if (!convert::copy_tensor(t, wr, cerr)) {
        err = cerr.message;
        return false;
      }
      continue;
    }
    const Encoded& e = is_w ? w : b;
    const std::span<const uint64_t> dims = is_w ? std::span<const uint64_t>(dims_w) : std::span<const uint64_t>(dims_b);
    if (!wr.add_tensor(std::string(t.name), e.dtype, dims, e.bytes, terr, e.scales)) {
      err = "tensor " + std::string(t.name) + ": " + terr.message;
      return false;
    }
  }
  if (!wr.write_file(out_path, terr, input_path)) {
    err = out_path + ": " + terr.message;
    return false;
  }
  return true;
}

}  // namespace triage::adapt
