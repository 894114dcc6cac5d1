// Writer: collects metadata and tensors in insertion order and lays them out as SPEC.md says: header,
// metadata, tensor table, zero padding, 64-byte aligned payloads, file CRC. Everything it writes is
// validated against the same caps the reader applies, so a file it writes always parses.
#include <cstring>
#include <new>

#include "weights_format/checked_math.h"
#include "weights_format/error.h"
#include "weights_format/le_bytes.h"
#include "weights_format/tensor_size.h"
#include "weights_format/trw_layout.h"

namespace triage::trw {
namespace {

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

// Appends with bounds already sized by the caller.
struct Out {
  uint8_t* p;
  void u32(uint32_t v) { store_u32(p, v), p += 4; }
  void u64(uint64_t v) { store_u64(p, v), p += 8; }
  void str(const std::string& s) {
    u32(uint32_t(s.size()));
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

bool check_name(const std::string& s, const char* what, Error& err) {
  if (s.empty()) return fail_text(err, Errc::BadValue, 0, std::string(what) + ": empty");
  if (s.size() > kMaxNameLen)
    return fail_text(err, Errc::LimitExceeded, 0, std::string(what) + " '" + s.substr(0, 32) + "...': longer than kMaxNameLen");
  if (has_nul(s)) return fail_text(err, Errc::BadValue, 0, std::string(what) + ": contains a NUL byte");
  return true;
}

bool check_string(const std::string& s, const std::string& what, Error& err) {
  if (s.size() > kMaxStringLen) return fail_text(err, Errc::LimitExceeded, 0, what + ": longer than kMaxStringLen");
  if (has_nul(s)) return fail_text(err, Errc::BadValue, 0, what + ": contains a NUL byte");
  return true;
}

// Validates one entry and returns its encoded size.
bool meta_entry_size(const Writer::OwnedEntry& e, uint64_t& size, Error& err) {
  if (!check_name(e.key, "metadata key", err)) return false;
  const std::string what = "metadata '" + e.key + "'";
  const Writer::OwnedValue& v = e.value;
  size = 4 + e.key.size() + 4;
  switch (v.type) {
    case MetaType::I64:
    case MetaType::F64: size += 8; return true;
    case MetaType::Str:
      if (!check_string(v.s, what, err)) return false;
      size += 4 + v.s.size();
      return true;
    case MetaType::I64Array:
    case MetaType::F64Array: {
      const size_t n = v.type == MetaType::I64Array ? v.ia.size() : v.fa.size();
      if (n > kMaxArrayLen) return fail_text(err, Errc::LimitExceeded, 0, what + ": more than kMaxArrayLen items");
      size += 4 + 8 * uint64_t(n);
      return true;
    }
    case MetaType::StrArray:
      if (v.sa.size() > kMaxArrayLen) return fail_text(err, Errc::LimitExceeded, 0, what + ": more than kMaxArrayLen items");
      size += 4;
      for (const std::string& s : v.sa) {
        if (!check_string(s, what, err)) return false;
        size += 4 + s.size();
      }
      return true;
  }
  return fail_text(err, Errc::BadValue, 0, what + ": unknown metadata type id " + std::to_string(uint32_t(v.type)));
}

void write_meta_entry(Out& o, const Writer::OwnedEntry& e) {
  o.str(e.key);
  o.u32(uint32_t(e.value.type));
  const Writer::OwnedValue& v = e.value;
  switch (v.type) {
    case MetaType::I64: o.u64(uint64_t(v.i)); break;
    case MetaType::F64: o.u64(f64_bits(v.f)); break;
    case MetaType::Str: o.str(v.s); break;
    case MetaType::I64Array:
      o.u32(uint32_t(v.ia.size()));
      for (int64_t x : v.ia) o.u64(uint64_t(x));
      break;
    case MetaType::F64Array:
      o.u32(uint32_t(v.fa.size()));
      for (double x : v.fa) o.u64(f64_bits(x));
      break;
    case MetaType::StrArray:
      o.u32(uint32_t(v.sa.size()));
      for (const std::string& s : v.sa) o.str(s);
      break;
  }
}

}  // namespace

void Writer::set_value(std::string key, OwnedValue v) {
  for (OwnedEntry& e : meta_) {
    if (e.key == key) {
      e.value = std::move(v);
      return;
    }
  }
  meta_.push_back(OwnedEntry{std::move(key), std::move(v)});
}

void Writer::erase(std::string_view key) {
  for (size_t i = 0; i < meta_.size(); ++i)
    if (meta_[i].key == key) {
      meta_.erase(meta_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
}

void Writer::set_i64(std::string key, int64_t v) {
  OwnedValue m;
  m.type = MetaType::I64;
  m.i = v;
  set_value(std::move(key), std::move(m));
}

void Writer::set_f64(std::string key, double v) {
  OwnedValue m;
  m.type = MetaType::F64;
  m.f = v;
  set_value(std::move(key), std::move(m));
}

void Writer::set_str(std::string key, std::string v) {
  OwnedValue m;
  m.type = MetaType::Str;
  m.s = std::move(v);
  set_value(std::move(key), std::move(m));
}

void Writer::set_i64_array(std::string key, std::vector<int64_t> v) {
  OwnedValue m;
  m.type = MetaType::I64Array;
  m.ia = std::move(v);
  set_value(std::move(key), std::move(m));
}

void Writer::set_f64_array(std::string key, std::vector<double> v) {
  OwnedValue m;
  m.type = MetaType::F64Array;
  m.fa = std::move(v);
  set_value(std::move(key), std::move(m));
}

void Writer::set_str_array(std::string key, std::vector<std::string> v) {
  OwnedValue m;
  m.type = MetaType::StrArray;
  m.sa = std::move(v);
  set_value(std::move(key), std::move(m));
}

void Writer::copy_metadata_from(const File& f) {
  for (const MetaEntry& e : f.metadata()) {
    OwnedValue m;
    m.type = e.value.type;
    m.i = e.value.i;
    m.f = e.value.f;
    m.s = std::string(e.value.s);
    m.ia.assign(e.value.ia.begin(), e.value.ia.end());
    m.fa.assign(e.value.fa.begin(), e.value.fa.end());
    m.sa.assign(e.value.sa.begin(), e.value.sa.end());
    set_value(std::string(e.key), std::move(m));
  }
}

bool Writer::add_tensor(std::string name, DType dtype, std::span<const uint64_t> dims, std::span<const uint8_t> data,
                        Error& err, std::span<const float> q8_scales) {
  err = Error{};
  if (!check_name(name, "tensor name", err)) return false;
  for (const PendingTensor& t : tensors_)
    if (t.name == name) return fail_text(err, Errc::Duplicate, 0, "tensor '" + name + "': added twice");
  if (tensors_.size() >= kMaxTensors) return fail_text(err, Errc::LimitExceeded, 0, "tensor '" + name + "': more than kMaxTensors");
  if (dims.size() > kMaxRank) return fail_text(err, Errc::LimitExceeded, 0, "tensor '" + name + "': rank above kMaxRank");
  TensorSize ts;
  uint32_t bad_dim = 0;
  const Errc sc = tensor_size(uint32_t(dtype), uint32_t(dims.size()), dims.data(), ts, bad_dim);
  if (sc != Errc::Ok)
    return fail_text(err, sc, 0, "tensor '" + name + "': invalid dtype/dims for the format (" + errc_name(sc) + ")");
  const bool q8 = dtype == DType::Q8;
  const uint64_t want_data = q8 ? ts.numel : ts.nbytes;
  if (data.size() != want_data)
    return fail_text(err, Errc::BadValue, 0,
                "tensor '" + name + "': " + std::to_string(data.size()) + " payload bytes, the dims need " +
                    std::to_string(want_data));
  if (q8 ? q8_scales.size() != dims[0] : !q8_scales.empty())
    return fail_text(err, Errc::BadValue, 0, "tensor '" + name + "': q8 needs exactly dims[0] scales, other types none");
  TRIAGE_TRY {
    PendingTensor t{std::move(name), dtype, std::vector<uint64_t>(dims.begin(), dims.end()),
                    std::vector<uint8_t>(size_t(ts.nbytes), 0)};
    if (!data.empty()) std::memcpy(t.bytes.data(), data.data(), data.size());
    for (size_t c = 0; c < q8_scales.size(); ++c) {
      uint32_t bits;
      std::memcpy(&bits, &q8_scales[c], 4);
      store_u32(t.bytes.data() + ts.scales_off + 4 * c, bits);
    }
    tensors_.push_back(std::move(t));
  }
  TRIAGE_CATCH_BAD_ALLOC {
    return fail_text(err, Errc::NoMemory, 0, "out of memory holding tensor payload");
  }
  return true;
}

bool Writer::serialize(std::vector<uint8_t>& out, Error& err) const {
  using namespace layout;
  err = Error{};
  if (meta_.size() > kMaxMetadata) return fail_text(err, Errc::LimitExceeded, 0, "more than kMaxMetadata metadata entries");
  uint64_t msize = 0;
  for (const OwnedEntry& e : meta_) {
    uint64_t s = 0;
    if (!meta_entry_size(e, s, err)) return false;
    msize += s;  // bounded: <= 1024 entries of <= 2^16 strings of <= 2^20 bytes
  }
  if (msize > kMaxMetadataSize) return fail_text(err, Errc::LimitExceeded, 0, "metadata larger than kMaxMetadataSize");
  uint64_t tsize = 0;
  for (const PendingTensor& t : tensors_) tsize += 4 + t.name.size() + 4 + 4 + 8 * t.dims.size() + 8 + 8 + 4;
  const uint64_t moff = kHeaderSize, toff = moff + msize, tend = toff + tsize;
  uint64_t doff = 0;
  align_up_u64(tend, kAlign, doff);  // small: bounded by the caps above
  std::vector<uint64_t> offsets;
  uint64_t end = doff;
  for (const PendingTensor& t : tensors_) {
    uint64_t off = 0;
    if (!align_up_u64(end, kAlign, off) || !add_u64(off, t.bytes.size(), end))
      return fail_text(err, Errc::Overflow, 0, "tensor data size overflows");
    offsets.push_back(off);
  }
  uint64_t dend = 0, fs = 0;
  if (!align_up_u64(end, kAlign, dend) || !add_u64(dend, kFileCrcSize, fs) || fs > kMaxFileSize)
    return fail_text(err, Errc::LimitExceeded, 0, "the file would exceed kMaxFileSize");
  TRIAGE_TRY {
    out.assign(size_t(fs), 0);
  }
  TRIAGE_CATCH_BAD_ALLOC {
    return fail_text(err, Errc::NoMemory, 0, "out of memory for a " + std::to_string(fs) + "-byte file");
  }
  uint8_t* b = out.data();
  std::memcpy(b + kMagicOff, kMagic, 8);
  store_u16(b + kMajorOff, kVersionMajor);
  store_u16(b + kMinorOff, kVersionMinor);
  store_u32(b + kEndianOff, kEndianMarker);
  store_u32(b + kHeaderSizeOff, kHeaderSize);
  store_u32(b + kMetaCountOff, uint32_t(meta_.size()));
  store_u64(b + kReqFeaturesOff, req_features_);
  store_u64(b + kOptFeaturesOff, opt_features_);
  store_u32(b + kTensorCountOff, uint32_t(tensors_.size()));
  store_u64(b + kMetaOffsetOff, moff);
  store_u64(b + kMetaSizeOff, msize);
  store_u64(b + kTableOffsetOff, toff);
  store_u64(b + kTableSizeOff, tsize);
  store_u64(b + kDataOffsetOff, doff);
  store_u64(b + kDataSizeOff, dend - doff);
  store_u64(b + kFileSizeOff, fs);
  store_u32(b + kHeaderSize - 4, crc32c({b, kHeaderSize - 4}));
  Out o{b + moff};
  for (const OwnedEntry& e : meta_) write_meta_entry(o, e);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const PendingTensor& t = tensors_[i];
    o.str(t.name);
    o.u32(uint32_t(t.dtype));
    o.u32(uint32_t(t.dims.size()));
    for (uint64_t d : t.dims) o.u64(d);
    o.u64(offsets[i]);
    o.u64(t.bytes.size());
    o.u32(crc32c(t.bytes));
    if (!t.bytes.empty()) std::memcpy(b + offsets[i], t.bytes.data(), t.bytes.size());
  }
  store_u32(b + fs - 4, crc32c({b, size_t(fs - 4)}));
  return true;
}

bool Writer::write_file(const std::string& path, Error& err, const std::string& input_path) const {
  err = Error{};
  if (!input_path.empty() && same_file(path, input_path))
    return fail_text(err, Errc::Io, 0, "refusing to write '" + path + "': it is the input file '" + input_path + "'");
  std::vector<uint8_t> bytes;
  if (!serialize(bytes, err)) return false;
  return write_file_atomic(path, bytes, err);
}

}  // namespace triage::trw
