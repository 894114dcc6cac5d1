// Parses the metadata section (SPEC.md section 4) into MetaEntry values, checking every length
// against the section end and the caps before anything is allocated from it.
#include <algorithm>
#include <numeric>

#include "weights_format/cursor.h"
#include "weights_format/error.h"
#include "weights_format/le_bytes.h"
#include "weights_format/reader_sections.h"

namespace triage::trw {
namespace {

// Reads a u32 element count and checks it against kMaxArrayLen and, for fixed-size items, the bytes
// left, so a hostile count never sizes an allocation beyond what the section holds.
bool array_count(Cursor& cur, uint64_t item_size, uint32_t& count, Error& err) {
  const uint64_t at = cur.pos();
  if (!cur.u32(count, "count", err)) return false;
  if (count > kMaxArrayLen)
    return fail(err, Errc::LimitExceeded, at,
                cur.field_name("count") + ": " + std::to_string(count) + " exceeds kMaxArrayLen " +
                    std::to_string(kMaxArrayLen));
  return cur.need(uint64_t(count) * item_size, "items", err);  // count <= 2^16: no overflow
}

bool parse_value(Cursor& cur, uint32_t type, uint64_t type_at, MetaValue& v, Error& err) {
  switch (type) {
    case uint32_t(MetaType::I64): {
      uint64_t u = 0;
      if (!cur.u64(u, "value", err)) return false;
      v.i = int64_t(u);
      return true;
    }
    case uint32_t(MetaType::F64): {
      uint64_t u = 0;
      if (!cur.u64(u, "value", err)) return false;
      v.f = f64_from_bits(u);
      return true;
    }
    case uint32_t(MetaType::Str):
      return cur.lstr(0, kMaxStringLen, v.s, "value", err);
    case uint32_t(MetaType::I64Array): {
      uint32_t n = 0;
      if (!array_count(cur, 8, n, err)) return false;
      v.ia.resize(n);
      for (uint32_t k = 0; k < n; ++k) {
        uint64_t u = 0;
        if (!cur.u64(u, "items", err, k)) return false;
        v.ia[k] = int64_t(u);
      }
      return true;
    }
    case uint32_t(MetaType::F64Array): {
      uint32_t n = 0;
      if (!array_count(cur, 8, n, err)) return false;
      v.fa.resize(n);
      for (uint32_t k = 0; k < n; ++k) {
        uint64_t u = 0;
        if (!cur.u64(u, "items", err, k)) return false;
        v.fa[k] = f64_from_bits(u);
      }
      return true;
    }
    case uint32_t(MetaType::StrArray): {
      uint32_t n = 0;
      if (!array_count(cur, 4, n, err)) return false;  // each item has at least its u32 length
      v.sa.resize(n);
      for (uint32_t k = 0; k < n; ++k)
        if (!cur.lstr(0, kMaxStringLen, v.sa[k], "items", err, k)) return false;
      return true;
    }
    default:
      return fail(err, Errc::BadValue, type_at,
                  cur.field_name("type") + ": unknown metadata type id " + std::to_string(type));
  }
}

}  // namespace

bool parse_metadata_section(const uint8_t* base, uint64_t off, uint64_t size, uint32_t count,
                            std::vector<MetaEntry>& out, Error& err) {
  Cursor cur(base, off, off + size, "metadata section");
  std::vector<uint64_t> key_at;
  out.clear();
  out.reserve(count);  // count <= kMaxMetadata, checked by the caller
  key_at.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    cur.set_context("metadata[" + std::to_string(i) + "]");
    MetaEntry e;
    key_at.push_back(cur.pos());
    if (!cur.lstr(1, kMaxNameLen, e.key, "key", err)) return false;
    cur.set_context("metadata[" + std::to_string(i) + "] '" + e.key + "'");
    const uint64_t type_at = cur.pos();
    uint32_t type = 0;
    if (!cur.u32(type, "type", err)) return false;
    if (!parse_value(cur, type, type_at, e.value, err)) return false;
    e.value.type = MetaType(type);  // known: parse_value refused any other id
    out.push_back(std::move(e));
  }
  if (cur.remaining() != 0)
    return fail(err, Errc::BadValue, cur.pos(),
                "metadata section: " + std::to_string(cur.remaining()) + " bytes after the last of " +
                    std::to_string(count) + " entries");
  // Duplicate keys: sort indices by key, compare neighbours; report the later entry.
  std::vector<uint32_t> idx(out.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    return out[a].key != out[b].key ? out[a].key < out[b].key : a < b;
  });
  for (size_t k = 1; k < idx.size(); ++k) {
    if (out[idx[k]].key == out[idx[k - 1]].key)
      return fail(err, Errc::Duplicate, key_at[idx[k]],
                  "metadata[" + std::to_string(idx[k]) + "].key: duplicate key '" + out[idx[k]].key +
                      "' (first in metadata[" + std::to_string(idx[k - 1]) + "])");
  }
  return true;
}

}  // namespace triage::trw
