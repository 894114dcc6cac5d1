// Parses the tensor table (SPEC.md section 5) into TensorViews and checks each payload's size,
// alignment and place in the data section (section 6); then the data-section-wide checks.
#include <algorithm>
#include <cstdio>

#include "weights_format/checked_math.h"
#include "weights_format/cursor.h"
#include "weights_format/error.h"
#include "weights_format/reader_sections.h"
#include "weights_format/tensor_size.h"
#include "weights_format/trw_layout.h"

namespace triage::trw {
namespace {

using ull = unsigned long long;

// printf arguments of a name: "%.*s".
int len(std::string_view s) { return static_cast<int>(s.size()); }

// Maps a tensor_size() failure to the field it is about (dtype and rank were checked before).
bool size_error(const Cursor& cur, Errc code, uint32_t bad_dim, uint64_t rank_at, uint64_t dims_at, Error& err) {
  if (code == Errc::BadValue)
    return fail(err, code, rank_at, "%s: q8 needs rank >= 1 (dims[0] output channels)", cur.field_name("rank"));
  if (code == Errc::Overflow)
    return fail(err, code, dims_at, "%s: the product of the dims overflows 64 bits", cur.field_name("dims"));
  // LimitExceeded on a dim or on numel (a dim above the cap is reported first).
  return fail(err, code, dims_at + 8ull * bad_dim, "%s: a dim above kMaxDim or more than kMaxNumel elements",
              cur.field_name("dims"));
}

}  // namespace

bool parse_tensor_table(const uint8_t* base, uint64_t off, uint64_t size, uint32_t count, DataSection data,
                        FallibleArray<TensorView>& out, FallibleArray<uint64_t>& table_field_offsets, Region* from,
                        Error& err) {
  Cursor cur(base, off, off + size, "tensor table");
  const uint64_t data_end = data.offset + data.size;  // checked against file_size by the caller
  // count <= kMaxTensors, checked by the caller.
  FallibleArray<uint64_t> name_at;
  FallibleArray<uint32_t> idx;
  if (!out.resize(count, from) || !table_field_offsets.resize(count, from) || !name_at.resize(count, from) ||
      !idx.resize(count, from))
    return no_memory(err, "tensor table");
  for (uint32_t i = 0; i < count; ++i) {
    cur.set_context("tensor[%u]", i);
    TensorView& t = out[i];
    name_at[i] = cur.pos();
    if (!cur.lstr(1, kMaxNameLen, t.name, "name", err)) return false;
    cur.set_context("tensor[%u] '%.*s'", i, len(t.name), t.name.data());
    const uint64_t dtype_at = cur.pos();
    uint32_t dtype = 0;
    if (!cur.u32(dtype, "dtype", err)) return false;
    if (!is_known_dtype(dtype))
      return fail(err, Errc::BadValue, dtype_at, "%s: unknown type id %u", cur.field_name("dtype"), dtype);
    const uint64_t rank_at = cur.pos();
    if (!cur.u32(t.rank, "rank", err)) return false;
    if (t.rank > kMaxRank)
      return fail(err, Errc::LimitExceeded, rank_at, "%s: %u exceeds kMaxRank %u", cur.field_name("rank"), t.rank,
                  kMaxRank);
    const uint64_t dims_at = cur.pos();
    for (uint32_t d = 0; d < t.rank; ++d)
      if (!cur.u64(t.dims[d], "dims", err, d)) return false;
    const uint64_t offset_at = cur.pos();
    if (!cur.u64(t.offset, "offset", err)) return false;
    const uint64_t nbytes_at = cur.pos();
    if (!cur.u64(t.nbytes, "byte_size", err)) return false;
    if (!cur.u32(t.crc32c, "crc32c", err)) return false;

    TensorSize ts;
    uint32_t bad_dim = 0;
    const Errc sc = tensor_size(dtype, t.rank, t.dims, ts, bad_dim);
    if (sc != Errc::Ok) return size_error(cur, sc, bad_dim, rank_at, dims_at, err);
    t.dtype = DType(dtype);
    t.numel = ts.numel;
    if (t.nbytes != ts.nbytes)
      return fail(err, Errc::BadValue, nbytes_at, "%s: %llu but %s with these dims needs %llu",
                  cur.field_name("byte_size"), ull(t.nbytes), dtype_name(t.dtype), ull(ts.nbytes));
    if (t.offset % kAlign != 0)
      return fail(err, Errc::BadValue, offset_at, "%s: %llu is not a multiple of 64", cur.field_name("offset"),
                  ull(t.offset));
    uint64_t end = 0;
    if (!add_u64(t.offset, t.nbytes, end))
      return fail(err, Errc::Overflow, nbytes_at, "%s: offset + byte_size overflows", cur.field_name("byte_size"));
    if (t.offset < data.offset || end > data_end)
      return fail(err, Errc::Overlap, offset_at, "%s: payload [%llu, %llu) leaves the data section [%llu, %llu)",
                  cur.field_name("offset"), ull(t.offset), ull(end), ull(data.offset), ull(data_end));
    t.data = base + t.offset;
    t.scales = t.dtype == DType::Q8 ? reinterpret_cast<const float*>(base + t.offset + ts.scales_off) : nullptr;
    table_field_offsets[i] = offset_at;
  }
  if (cur.remaining() != 0)
    return fail(err, Errc::BadValue, cur.pos(), "tensor table: %llu bytes after the last of %u entries",
                ull(cur.remaining()), count);
  for (uint32_t i = 0; i < count; ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    return out[a].name != out[b].name ? out[a].name < out[b].name : a < b;
  });
  for (size_t k = 1; k < idx.size(); ++k) {
    if (out[idx[k]].name == out[idx[k - 1]].name) {
      const std::string_view name = out[idx[k]].name;
      return fail(err, Errc::Duplicate, name_at[idx[k]], "tensor[%u].name: duplicate name '%.*s' (first in tensor[%u])",
                  idx[k], len(name), name.data(), idx[k - 1]);
    }
  }
  return true;
}

bool check_data_section(const uint8_t* base, DataSection data, std::span<const TensorView> tensors,
                        std::span<const uint64_t> table_field_offsets, Region* from, Error& err) {
  // Walk payloads in offset order; `pos` is the end of what has been accounted for so far.
  FallibleArray<uint32_t> idx;
  if (!idx.resize(tensors.size(), from)) return no_memory(err, "tensor table");
  for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    return tensors[a].offset != tensors[b].offset ? tensors[a].offset < tensors[b].offset
                                                  : tensors[a].nbytes < tensors[b].nbytes;
  });
  // The first non-zero byte in [from, to), or `to` when they are all zero (padding).
  auto first_nonzero = [&](uint64_t from, uint64_t to) {
    for (uint64_t p = from; p < to; ++p)
      if (base[p] != 0) return p;
    return to;
  };
  uint64_t pos = data.offset;
  int64_t prev = -1;
  for (uint32_t i : idx) {
    const TensorView& t = tensors[i];
    if (t.nbytes == 0) continue;  // an empty payload occupies no byte
    if (t.offset < pos) {
      const TensorView& p = tensors[size_t(prev)];
      return fail(err, Errc::Overlap, table_field_offsets[i],
                  "tensor[%u] '%.*s'.offset: payload at %llu overlaps tensor[%lld] '%.*s' which ends at %llu", i,
                  len(t.name), t.name.data(), ull(t.offset), static_cast<long long>(prev), len(p.name), p.name.data(),
                  ull(pos));
    }
    if (const uint64_t at = first_nonzero(pos, t.offset); at != t.offset)
      return fail(err, Errc::BadValue, at, "data section: padding byte is not zero");
    if (t.dtype == DType::Q8) {
      const uint64_t pad_from = t.offset + t.numel;
      const uint64_t pad_to = static_cast<uint64_t>(reinterpret_cast<const uint8_t*>(t.scales) - base);
      if (const uint64_t at = first_nonzero(pad_from, pad_to); at != pad_to)
        return fail(err, Errc::BadValue, at, "tensor[%u] '%.*s' q8 scales alignment: padding byte is not zero", i,
                    len(t.name), t.name.data());
    }
    pos = t.offset + t.nbytes;
    prev = int64_t(i);
  }
  const uint64_t data_end = data.offset + data.size;
  uint64_t want_end = data.offset;
  if (!tensors.empty()) {
    uint64_t max_end = data.offset;
    for (const TensorView& t : tensors) max_end = std::max(max_end, t.offset + t.nbytes);
    align_up_u64(max_end, kAlign, want_end);  // max_end <= data_end, a multiple of 64: no overflow
  }
  if (const uint64_t at = first_nonzero(pos, data_end); at != data_end)
    return fail(err, Errc::BadValue, at, "data section: padding byte is not zero");
  if (want_end != data_end)
    return fail(err, Errc::BadValue, layout::kDataSizeOff, "header.data_size: %llu but the payloads end at %llu bytes (padded to 64)",
                ull(data.size), ull(want_end - data.offset));
  return true;
}

bool check_payload_crcs(std::span<const TensorView> tensors, Error& err) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& t = tensors[i];
    const uint32_t got = crc32c({t.data, size_t(t.nbytes)});
    if (got != t.crc32c)
      return fail(err, Errc::Checksum, t.offset, "tensor[%zu] '%.*s' payload: CRC32C is 0x%08X, the table says 0x%08X", i,
                  len(t.name), t.name.data(), got, t.crc32c);
  }
  return true;
}

}  // namespace triage::trw
