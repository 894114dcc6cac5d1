// Parses the tensor table (SPEC.md section 5) into TensorViews and checks each payload's size,
// alignment and place in the data section (section 6); then the data-section-wide checks.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "weights_format/checked_math.h"
#include "weights_format/cursor.h"
#include "weights_format/error.h"
#include "weights_format/reader_sections.h"
#include "weights_format/tensor_size.h"
#include "weights_format/trw_layout.h"

namespace triage::trw {
namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

// Maps a tensor_size() failure to the field it is about (dtype and rank were checked before).
bool size_error(const Cursor& cur, Errc code, uint32_t bad_dim, uint64_t rank_at, uint64_t dims_at, Error& err) {
  if (code == Errc::BadValue)
    return fail(err, code, rank_at, cur.field_name("rank") + ": q8 needs rank >= 1 (dims[0] output channels)");
  if (code == Errc::Overflow)
    return fail(err, code, dims_at, cur.field_name("dims") + ": the product of the dims overflows 64 bits");
  // LimitExceeded on a dim or on numel (a dim above the cap is reported first).
  return fail(err, code, dims_at + 8ull * bad_dim,
              cur.field_name("dims") + ": a dim above kMaxDim or more than kMaxNumel elements");
}

}  // namespace

bool parse_tensor_table(const uint8_t* base, uint64_t off, uint64_t size, uint32_t count, DataSection data,
                        std::vector<TensorView>& out, std::vector<uint64_t>& table_field_offsets, Error& err) {
  Cursor cur(base, off, off + size, "tensor table");
  const uint64_t data_end = data.offset + data.size;  // checked against file_size by the caller
  std::vector<uint64_t> name_at;
  out.clear();
  out.reserve(count);  // count <= kMaxTensors, checked by the caller
  table_field_offsets.clear();
  for (uint32_t i = 0; i < count; ++i) {
    cur.set_context("tensor[" + std::to_string(i) + "]");
    TensorView t;
    name_at.push_back(cur.pos());
    if (!cur.lstr(1, kMaxNameLen, t.name, "name", err)) return false;
    cur.set_context("tensor[" + std::to_string(i) + "] '" + t.name + "'");
    const uint64_t dtype_at = cur.pos();
    uint32_t dtype = 0;
    if (!cur.u32(dtype, "dtype", err)) return false;
    if (!is_known_dtype(dtype))
      return fail(err, Errc::BadValue, dtype_at, cur.field_name("dtype") + ": unknown type id " + std::to_string(dtype));
    const uint64_t rank_at = cur.pos();
    if (!cur.u32(t.rank, "rank", err)) return false;
    if (t.rank > kMaxRank)
      return fail(err, Errc::LimitExceeded, rank_at,
                  cur.field_name("rank") + ": " + std::to_string(t.rank) + " exceeds kMaxRank " + std::to_string(kMaxRank));
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
      return fail(err, Errc::BadValue, nbytes_at,
                  cur.field_name("byte_size") + ": " + std::to_string(t.nbytes) + " but " + dtype_name(t.dtype) +
                      " with these dims needs " + std::to_string(ts.nbytes));
    if (t.offset % kAlign != 0)
      return fail(err, Errc::BadValue, offset_at,
                  cur.field_name("offset") + ": " + std::to_string(t.offset) + " is not a multiple of 64");
    uint64_t end = 0;
    if (!add_u64(t.offset, t.nbytes, end))
      return fail(err, Errc::Overflow, nbytes_at, cur.field_name("byte_size") + ": offset + byte_size overflows");
    if (t.offset < data.offset || end > data_end)
      return fail(err, Errc::Overlap, offset_at,
                  cur.field_name("offset") + ": payload [" + std::to_string(t.offset) + ", " + std::to_string(end) +
                      ") leaves the data section [" + std::to_string(data.offset) + ", " + std::to_string(data_end) + ")");
    t.data = base + t.offset;
    t.scales = t.dtype == DType::Q8 ? reinterpret_cast<const float*>(base + t.offset + ts.scales_off) : nullptr;
    table_field_offsets.push_back(offset_at);
    out.push_back(std::move(t));
  }
  if (cur.remaining() != 0)
    return fail(err, Errc::BadValue, cur.pos(),
                "tensor table: " + std::to_string(cur.remaining()) + " bytes after the last of " +
                    std::to_string(count) + " entries");
  std::vector<uint32_t> idx(out.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    return out[a].name != out[b].name ? out[a].name < out[b].name : a < b;
  });
  for (size_t k = 1; k < idx.size(); ++k) {
    if (out[idx[k]].name == out[idx[k - 1]].name)
      return fail(err, Errc::Duplicate, name_at[idx[k]],
                  "tensor[" + std::to_string(idx[k]) + "].name: duplicate name '" + out[idx[k]].name +
                      "' (first in tensor[" + std::to_string(idx[k - 1]) + "])");
  }
  return true;
}

bool check_data_section(const uint8_t* base, DataSection data, const std::vector<TensorView>& tensors,
                        const std::vector<uint64_t>& table_field_offsets, Error& err) {
  // Walk payloads in offset order; `pos` is the end of what has been accounted for so far.
  std::vector<uint32_t> idx(tensors.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    return tensors[a].offset != tensors[b].offset ? tensors[a].offset < tensors[b].offset
                                                  : tensors[a].nbytes < tensors[b].nbytes;
  });
  auto zero_range = [&](uint64_t from, uint64_t to, const std::string& what) {
    for (uint64_t p = from; p < to; ++p)
      if (base[p] != 0) return fail(err, Errc::BadValue, p, what + ": padding byte is not zero");
    return true;
  };
  uint64_t pos = data.offset;
  int64_t prev = -1;
  for (uint32_t i : idx) {
    const TensorView& t = tensors[i];
    if (t.nbytes == 0) continue;  // an empty payload occupies no byte
    if (t.offset < pos)
      return fail(err, Errc::Overlap, table_field_offsets[i],
                  "tensor[" + std::to_string(i) + "] '" + t.name + "'.offset: payload at " + std::to_string(t.offset) +
                      " overlaps tensor[" + std::to_string(prev) + "] '" + tensors[size_t(prev)].name +
                      "' which ends at " + std::to_string(pos));
    if (!zero_range(pos, t.offset, "data section")) return false;
    if (t.dtype == DType::Q8) {
      const uint64_t pad_from = t.offset + t.numel;
      const uint64_t pad_to = static_cast<uint64_t>(reinterpret_cast<const uint8_t*>(t.scales) - base);
      if (!zero_range(pad_from, pad_to, "tensor[" + std::to_string(i) + "] '" + t.name + "' q8 scales alignment"))
        return false;
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
  if (!zero_range(pos, data_end, "data section")) return false;
  if (want_end != data_end)
    return fail(err, Errc::BadValue, layout::kDataSizeOff,
                "header.data_size: " + std::to_string(data.size) + " but the payloads end at " +
                    std::to_string(want_end - data.offset) + " bytes (padded to 64)");
  return true;
}

bool check_payload_crcs(const std::vector<TensorView>& tensors, Error& err) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& t = tensors[i];
    const uint32_t got = crc32c({t.data, size_t(t.nbytes)});
    if (got != t.crc32c)
      return fail(err, Errc::Checksum, t.offset,
                  "tensor[" + std::to_string(i) + "] '" + t.name + "' payload: CRC32C is " + hex32(got) +
                      ", the table says " + hex32(t.crc32c));
  }
  return true;
}

}  // namespace triage::trw
