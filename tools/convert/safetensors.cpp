#include "tools/convert/safetensors.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <cstring>

#include "tools/convert/json_strict.h"
#include "weights_format/trw.h"

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace triage::convert {
namespace {

using json = nlohmann::json;

struct DTypeInfo {
  const char* name;
  StDType type;
  uint32_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {"F32", StDType::F32, 4}, {"F16", StDType::F16, 2}, {"BF16", StDType::BF16, 2},
    {"F64", StDType::F64, 8}, {"I64", StDType::I64, 8}, {"I32", StDType::I32, 4},
    {"U8", StDType::U8, 1},   {"I8", StDType::I8, 1},   {"BOOL", StDType::BOOL, 1},
};

bool lookup_dtype(const std::string& s, StDType& out) {
  for (const auto& d : kDTypes)
    if (s == d.name) {
      out = d.type;
      return true;
    }
  return false;
}

// A non-negative JSON integer (nlohmann stores non-negative literals as unsigned).
bool as_u64(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct Ctx {
  std::string_view what;
  uint64_t header_pos;  // file offset of the JSON header
  Error& err;
  bool bad(const std::string& tensor, const std::string& msg, uint64_t at) {
    return fail(err, Errc::Format,
                std::string(what) + ": tensor " + quote_name(tensor) + " at byte " + std::to_string(at) + ": " + msg,
                at);
  }
};

bool parse_metadata(const json& v, Ctx& c, StFile& out) {
  if (!v.is_object())
    return fail(c.err, Errc::Format,
                std::string(c.what) + ": __metadata__ is not an object of strings (header at byte 8)", 8);
  if (v.size() > kStMaxMetadata)
    return fail(c.err, Errc::Format, std::string(c.what) + ": __metadata__ holds more than " +
                                         std::to_string(kStMaxMetadata) + " entries", 8);
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_string())
      return fail(c.err, Errc::Format,
                  std::string(c.what) + ": __metadata__ value of " + quote_name(it.key()) + " is not a string", 8);
    out.metadata.emplace_back(it.key(), it.value().get<std::string>());
  }
  return true;
}

bool parse_entry(const std::string& name, const json& v, uint64_t data_pos, uint64_t data_size,
                 std::span<const uint8_t> bytes, Ctx& c, StTensor& t) {
  // Until data_offsets are known, errors point at the header.
  const uint64_t hdr = c.header_pos;
  if (name.empty() || name.size() > kStMaxNameLen)
    return c.bad(name, "name length " + std::to_string(name.size()) + " outside 1.." +
                           std::to_string(kStMaxNameLen), hdr);
  if (!v.is_object()) return c.bad(name, "entry is not an object", hdr);
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets")
      return c.bad(name, "unknown field " + quote_name(it.key()), hdr);
  auto dt = v.find("dtype"), sh = v.find("shape"), off = v.find("data_offsets");
  if (dt == v.end() || sh == v.end() || off == v.end())
    return c.bad(name, "entry needs dtype, shape and data_offsets", hdr);
  if (!dt->is_string()) return c.bad(name, "dtype is not a string", hdr);
  if (!lookup_dtype(dt->get<std::string>(), t.dtype))
    return c.bad(name, "unknown dtype " + quote_name(dt->get<std::string>()), hdr);
  if (!sh->is_array()) return c.bad(name, "shape is not an array", hdr);
  if (sh->size() > kStMaxRank)
    return c.bad(name, "rank " + std::to_string(sh->size()) + " above the cap of " + std::to_string(kStMaxRank),
                 hdr);
  t.numel = 1;
  for (const auto& d : *sh) {
    uint64_t dim = 0;
    if (!as_u64(d, dim)) return c.bad(name, "shape holds a value that is not a non-negative integer", hdr);
    if (dim > kStMaxDim) return c.bad(name, "dimension " + std::to_string(dim) + " above the cap", hdr);
    t.shape.push_back(dim);
    if (__builtin_mul_overflow(t.numel, dim, &t.numel)) return c.bad(name, "element count overflows", hdr);
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(t.numel, uint64_t{st_dtype_size(t.dtype)}, &nbytes))
    return c.bad(name, "byte size overflows", hdr);
  uint64_t begin = 0, end = 0;
  if (!off->is_array() || off->size() != 2 || !as_u64((*off)[0], begin) || !as_u64((*off)[1], end))
    return c.bad(name, "data_offsets is not a pair of non-negative integers", hdr);
  // begin <= data_size here, so data_pos + begin cannot overflow (data_pos + data_size = file size).
  uint64_t at = data_pos + std::min(begin, data_size);
  if (begin > end)
    return c.bad(name, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] reversed", at);
  if (end > data_size)
    return c.bad(name, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                           "] exceed the data section of " + std::to_string(data_size) + " bytes", at);
  if (end - begin != nbytes)
    return c.bad(name, "data_offsets span " + std::to_string(end - begin) + " bytes but shape and dtype " +
                           st_dtype_name(t.dtype) + " need " + std::to_string(nbytes), at);
  t.name = name;
  t.file_offset = at;
  t.data = bytes.subspan(at, nbytes);
  return true;
}

}  // namespace

const char* st_dtype_name(StDType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

uint32_t st_dtype_size(StDType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.size;
  return 0;
}

bool st_dtype_is_float(StDType t) {
  return t == StDType::F32 || t == StDType::F16 || t == StDType::BF16 || t == StDType::F64;
}

bool parse_safetensors(std::span<const uint8_t> bytes, std::string_view what, StFile& out, Error& err) {
  out = StFile{};
  const std::string w(what);
  if (bytes.size() < 8)
    return fail(err, Errc::Format, w + ": truncated: " + std::to_string(bytes.size()) +
                                       " bytes, shorter than the 8-byte header length", 0);
  const uint64_t n = read_le64(bytes.data());
  if (n > kStMaxHeaderBytes)
    return fail(err, Errc::Format, w + ": header length " + std::to_string(n) + " above the cap of " +
                                       std::to_string(kStMaxHeaderBytes) + " bytes (at byte 0)", 0);
  if (n > bytes.size() - 8)
    return fail(err, Errc::Format, w + ": truncated: header length " + std::to_string(n) +
                                       " runs past the end of the " + std::to_string(bytes.size()) +
                                       "-byte file (at byte 0)", 0);
  const uint64_t data_pos = 8 + n;
  const uint64_t data_size = bytes.size() - data_pos;
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), static_cast<size_t>(n));
  // Root object -> tensor entry -> shape array: depth 3. Values: a few per tensor plus metadata.
  JsonLimits limits{3, 16ull * kStMaxTensors + 4ull * kStMaxMetadata + 64};
  json root;
  if (!parse_json_strict(text, limits, w + " header", 8, root, err)) return false;
  if (!root.is_object()) return fail(err, Errc::Format, w + ": header is not a JSON object (at byte 8)", 8);

  Ctx c{what, 8, err};
  size_t count = root.size() - (root.contains("__metadata__") ? 1 : 0);
  if (count > kStMaxTensors)
    return fail(err, Errc::Format, w + ": " + std::to_string(count) + " tensors, above the cap of " +
                                       std::to_string(kStMaxTensors) + " (header at byte 8)", 8);
  out.header_len = n;
  out.tensors.reserve(count);
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!parse_metadata(it.value(), c, out)) return false;
      continue;
    }
    StTensor t;
    if (!parse_entry(it.key(), it.value(), data_pos, data_size, bytes, c, t)) return false;
    out.tensors.push_back(std::move(t));
  }
  // Overlap: sort non-empty extents by start; each must begin at or after the furthest end so far.
  std::vector<const StTensor*> by_offset;
  for (const auto& t : out.tensors)
    if (!t.data.empty()) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const StTensor* a, const StTensor* b) {
    return a->file_offset != b->file_offset ? a->file_offset < b->file_offset : a->name < b->name;
  });
  uint64_t reach = 0;
  const StTensor* reach_owner = nullptr;
  for (const StTensor* t : by_offset) {
    if (reach_owner && t->file_offset < reach)
      return c.bad(t->name, "data overlaps tensor " + quote_name(reach_owner->name), t->file_offset);
    uint64_t end = t->file_offset + t->data.size();
    if (end > reach) {
      reach = end;
      reach_owner = t;
    }
  }
  return true;
}

bool st_to_f32(const StTensor& t, std::vector<float>& out, Error& err) {
  const uint8_t* p = t.data.data();
  out.resize(static_cast<size_t>(t.numel));
  switch (t.dtype) {
    case StDType::F32:
      if (t.numel) std::memcpy(out.data(), p, t.numel * 4);
      return true;
    case StDType::F16:
    case StDType::BF16:
      for (uint64_t i = 0; i < t.numel; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = t.dtype == StDType::F16 ? trw::f16_to_f32(h) : trw::bf16_to_f32(h);
      }
      return true;
    case StDType::F64:
      for (uint64_t i = 0; i < t.numel; ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        // Out of the f32 range -> +-inf (explicitly: the plain cast is undefined there); the caller
        // rejects non-finite weights.
        if (std::isnan(d)) out[i] = std::numeric_limits<float>::quiet_NaN();
        else if (d > std::numeric_limits<float>::max()) out[i] = std::numeric_limits<float>::infinity();
        else if (d < -std::numeric_limits<float>::max()) out[i] = -std::numeric_limits<float>::infinity();
        else out[i] = static_cast<float>(d);
      }
      return true;
    default:
      out.clear();
      return fail(err, Errc::Unsupported,
                  "tensor " + quote_name(t.name) + " has integer dtype " + st_dtype_name(t.dtype) +
                      "; only F32, F16, BF16 and F64 weights convert",
                  t.file_offset);
  }
}

}  // namespace triage::convert
