// Lookups on a parsed File: by key / name, and typed metadata getters that say what went wrong.
#include "weights_format/trw.h"

namespace triage::trw {
namespace {

const char* meta_type_name(MetaType t) {
  switch (t) {
    case MetaType::I64: return "i64";
    case MetaType::F64: return "f64";
    case MetaType::Str: return "str";
    case MetaType::I64Array: return "i64 array";
    case MetaType::F64Array: return "f64 array";
    case MetaType::StrArray: return "str array";
  }
  return "unknown";
}

// The value of `key` when it exists with type `want`; otherwise null and err says which it was.
const MetaValue* typed(const File& f, std::string_view key, MetaType want, Error& err) {
  const MetaValue* v = f.find_meta(key);
  const int n = static_cast<int>(key.size() < kMaxNameLen ? key.size() : kMaxNameLen);
  if (v == nullptr) {
    err.code = Errc::NotFound;
    err.offset = 0;
    err.message.format("metadata key '%.*s' not found", n, key.data());
    return nullptr;
  }
  if (v->type != want) {
    err.code = Errc::TypeMismatch;
    err.offset = 0;
    err.message.format("metadata key '%.*s' is %s, expected %s", n, key.data(), meta_type_name(v->type),
                       meta_type_name(want));
    return nullptr;
  }
  return v;
}

}  // namespace

const MetaValue* File::find_meta(std::string_view key) const {
  for (const MetaEntry& e : t_.meta)
    if (e.key == key) return &e.value;
  return nullptr;
}

const TensorView* File::find_tensor(std::string_view name) const {
  for (const TensorView& t : t_.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

bool File::get_i64(std::string_view key, int64_t& out, Error& err) const {
  const MetaValue* v = typed(*this, key, MetaType::I64, err);
  if (v != nullptr) out = v->i;
  return v != nullptr;
}

bool File::get_f64(std::string_view key, double& out, Error& err) const {
  const MetaValue* v = typed(*this, key, MetaType::F64, err);
  if (v != nullptr) out = v->f;
  return v != nullptr;
}

bool File::get_str(std::string_view key, std::string_view& out, Error& err) const {
  const MetaValue* v = typed(*this, key, MetaType::Str, err);
  if (v != nullptr) out = v->s;
  return v != nullptr;
}

bool File::get_i64_array(std::string_view key, std::span<const int64_t>& out, Error& err) const {
  const MetaValue* v = typed(*this, key, MetaType::I64Array, err);
  if (v != nullptr) out = v->ia;
  return v != nullptr;
}

bool File::get_f64_array(std::string_view key, std::span<const double>& out, Error& err) const {
  const MetaValue* v = typed(*this, key, MetaType::F64Array, err);
  if (v != nullptr) out = v->fa;
  return v != nullptr;
}

bool File::get_str_array(std::string_view key, std::span<const std::string_view>& out, Error& err) const {
  const MetaValue* v = typed(*this, key, MetaType::StrArray, err);
  if (v != nullptr) out = v->sa;
  return v != nullptr;
}

}  // namespace triage::trw
