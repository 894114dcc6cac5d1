// Parses the metadata section (SPEC.md section 4) into MetaEntry values, checking every length
// against the section end and the caps before anything is allocated from it. Two walks over the
// section: the first validates every entry and counts the array items, the second (after the tables
// are allocated, each allocation fallible) fills them; strings stay views into the file's bytes.
#include <algorithm>

#include "weights_format/cursor.h"
#include "weights_format/error.h"
#include "weights_format/le_bytes.h"
#include "weights_format/reader_sections.h"

namespace triage::trw {
namespace {

struct Counts {
  size_t i64 = 0, f64 = 0, str = 0;
};

// Reads a u32 element count and checks it against kMaxArrayLen and, for fixed-size items, the bytes
// left, so a hostile count never sizes an allocation beyond what the section holds.
bool array_count(Cursor& cur, uint64_t item_size, uint32_t& count, Error& err) {
  const uint64_t at = cur.pos();
  if (!cur.u32(count, "count", err)) return false;
  if (count > kMaxArrayLen)
    return fail(err, Errc::LimitExceeded, at, "%s: %u exceeds kMaxArrayLen %u", cur.field_name("count"), count,
                kMaxArrayLen);
  return cur.need(uint64_t(count) * item_size, "items", err);  // count <= 2^16: no overflow
}

// One value; tables null: count its items into `used`, else place them at tables[used...].
bool parse_value(Cursor& cur, uint32_t type, uint64_t type_at, MetaValue& v, FileTables* tables, Counts& used,
                 Error& err) {
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
      int64_t* out = tables ? tables->i64.data() + used.i64 : nullptr;
      for (uint32_t k = 0; k < n; ++k) {
        uint64_t u = 0;
        if (!cur.u64(u, "items", err, k)) return false;
        if (out) out[k] = int64_t(u);
      }
      if (out) v.ia = {out, n};
      used.i64 += n;
      return true;
    }
    case uint32_t(MetaType::F64Array): {
      uint32_t n = 0;
      if (!array_count(cur, 8, n, err)) return false;
      double* out = tables ? tables->f64.data() + used.f64 : nullptr;
      for (uint32_t k = 0; k < n; ++k) {
        uint64_t u = 0;
        if (!cur.u64(u, "items", err, k)) return false;
        if (out) out[k] = f64_from_bits(u);
      }
      if (out) v.fa = {out, n};
      used.f64 += n;
      return true;
    }
    case uint32_t(MetaType::StrArray): {
      uint32_t n = 0;
      if (!array_count(cur, 4, n, err)) return false;  // each item has at least its u32 length
      std::string_view* out = tables ? tables->str.data() + used.str : nullptr;
      for (uint32_t k = 0; k < n; ++k) {
        std::string_view s;
        if (!cur.lstr(0, kMaxStringLen, s, "items", err, k)) return false;
        if (out) out[k] = s;
      }
      if (out) v.sa = {out, n};
      used.str += n;
      return true;
    }
    default:
      return fail(err, Errc::BadValue, type_at, "%s: unknown metadata type id %u", cur.field_name("type"), type);
  }
}

// One walk over the section. entries null: validate and count; else fill entries (count of them) and
// the arrays of tables.
bool walk(const uint8_t* base, uint64_t off, uint64_t size, uint32_t count, MetaEntry* entries, FileTables* tables,
          uint64_t* key_at, Counts& used, Error& err) {
  Cursor cur(base, off, off + size, "metadata section");
  for (uint32_t i = 0; i < count; ++i) {
    cur.set_context("metadata[%u]", i);
    MetaEntry e;
    if (key_at) key_at[i] = cur.pos();
    if (!cur.lstr(1, kMaxNameLen, e.key, "key", err)) return false;
    cur.set_context("metadata[%u] '%.*s'", i, static_cast<int>(e.key.size()), e.key.data());
    const uint64_t type_at = cur.pos();
    uint32_t type = 0;
    if (!cur.u32(type, "type", err)) return false;
    if (!parse_value(cur, type, type_at, e.value, tables, used, err)) return false;
    e.value.type = MetaType(type);  // known: parse_value refused any other id
    if (entries) entries[i] = e;
  }
  if (cur.remaining() != 0)
    return fail(err, Errc::BadValue, cur.pos(), "metadata section: %llu bytes after the last of %u entries",
                static_cast<unsigned long long>(cur.remaining()), count);
  return true;
}

}  // namespace

bool parse_metadata_section(const uint8_t* base, uint64_t off, uint64_t size, uint32_t count, FileTables& tables,
                            Region* from, Error& err) {
  Counts counted;
  if (!walk(base, off, size, count, nullptr, nullptr, nullptr, counted, err)) return false;
  // count <= kMaxMetadata and the item counts are bounded by the section size (checked by the caller).
  FallibleArray<uint64_t> key_at;
  FallibleArray<uint32_t> idx;
  if (!tables.meta.resize(count, from) || !key_at.resize(count, from) || !idx.resize(count, from))
    return no_memory(err, "metadata table");
  if (!tables.i64.resize(counted.i64, from) || !tables.f64.resize(counted.f64, from) || !tables.str.resize(counted.str, from))
    return no_memory(err, "metadata arrays");
  Counts filled;
  if (!walk(base, off, size, count, tables.meta.data(), &tables, key_at.data(), filled, err)) return false;
  // Duplicate keys: sort indices by key, compare neighbours; report the later entry.
  const FallibleArray<MetaEntry>& out = tables.meta;
  for (uint32_t i = 0; i < count; ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    return out[a].key != out[b].key ? out[a].key < out[b].key : a < b;
  });
  for (size_t k = 1; k < idx.size(); ++k) {
    if (out[idx[k]].key == out[idx[k - 1]].key) {
      const std::string_view key = out[idx[k]].key;
      return fail(err, Errc::Duplicate, key_at[idx[k]], "metadata[%u].key: duplicate key '%.*s' (first in metadata[%u])",
                  idx[k], static_cast<int>(key.size()), key.data(), idx[k - 1]);
    }
  }
  return true;
}

}  // namespace triage::trw
