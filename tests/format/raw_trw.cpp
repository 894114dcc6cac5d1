#include "raw_trw.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "weights_format/trw.h"

namespace triage::trw::test {
namespace {

void put(std::vector<uint8_t>& b, uint64_t off, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) b[off + i] = uint8_t(v >> (8 * i));
}

void append(std::vector<uint8_t>& b, const std::vector<uint8_t>& x) {
  for (uint8_t v : x) b.push_back(v);
}

uint64_t align64(uint64_t x) { return (x + 63) & ~uint64_t(63); }

// Width of the header field that starts at `off` (SPEC.md section 3).
int field_width(uint64_t off) {
  switch (off) {
    case 8: case 10: return 2;
    case 12: case 16: case 20: case 40: case 44: return 4;
    default: return off >= 104 ? 1 : 8;
  }
}

}  // namespace

std::vector<uint8_t> enc_u32(uint32_t v) {
  std::vector<uint8_t> b(4);
  put(b, 0, v, 4);
  return b;
}

std::vector<uint8_t> enc_u64(uint64_t v) {
  std::vector<uint8_t> b(8);
  put(b, 0, v, 8);
  return b;
}

std::vector<uint8_t> enc_str(const std::string& s) {
  std::vector<uint8_t> b = enc_u32(uint32_t(s.size()));
  for (char c : s) b.push_back(uint8_t(c));
  return b;
}

RawMeta meta_i64(std::string key, int64_t v) { return RawMeta{std::move(key), 1, enc_u64(uint64_t(v)), {}}; }
RawMeta meta_str(std::string key, const std::string& s) { return RawMeta{std::move(key), 3, enc_str(s), {}}; }

std::vector<uint8_t> RawTrw::encode() const {
  std::vector<uint8_t> f(header_size, 0);
  const uint64_t moff = header_size;
  for (const RawMeta& m : meta) {
    append(f, enc_u32(m.key_len.value_or(uint32_t(m.key.size()))));
    f.insert(f.end(), m.key.begin(), m.key.end());
    append(f, enc_u32(m.type));
    append(f, m.value);
  }
  const uint64_t toff = f.size();
  // Table entries have a fixed size given the names and ranks, so payload offsets can be assigned first.
  uint64_t tsize = 0;
  for (const RawTensor& t : tensors) tsize += 4 + t.name.size() + 4 + 4 + 8 * t.dims.size() + 8 + 8 + 4;
  const uint64_t doff = align64(toff + tsize);
  std::vector<uint64_t> offs;
  uint64_t next = doff, dend = doff;
  for (const RawTensor& t : tensors) {
    const uint64_t o = t.offset.value_or(align64(next));
    offs.push_back(o);
    next = align64(next) + t.payload.size();
    // An overridden offset may point anywhere (outside the file, too): it does not size the section.
    if (!t.offset) dend = std::max(dend, o + t.payload.size());
  }
  dend = align64(dend);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const RawTensor& t = tensors[i];
    append(f, enc_u32(t.name_len.value_or(uint32_t(t.name.size()))));
    f.insert(f.end(), t.name.begin(), t.name.end());
    append(f, enc_u32(t.dtype));
    append(f, enc_u32(t.rank.value_or(uint32_t(t.dims.size()))));
    for (uint64_t d : t.dims) append(f, enc_u64(d));
    append(f, enc_u64(offs[i]));
    append(f, enc_u64(t.nbytes.value_or(t.payload.size())));
    append(f, enc_u32(t.crc.value_or(crc32c(t.payload))));
  }
  f.resize(dend + 4, 0);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const RawTensor& t = tensors[i];
    for (size_t k = 0; k < t.payload.size(); ++k)  // only what lands inside the data section
      if (offs[i] + k >= doff && offs[i] + k < dend) f[offs[i] + k] = t.payload[k];
  }
  std::memcpy(f.data(), kMagic, 8);
  put(f, 8, major, 2);
  put(f, 10, minor, 2);
  put(f, 12, kEndianMarker, 4);
  put(f, 16, header_size, 4);
  put(f, 20, meta.size(), 4);
  put(f, 24, required, 8);
  put(f, 32, optional_bits, 8);
  put(f, 40, tensors.size(), 4);
  put(f, 48, moff, 8);
  put(f, 56, toff - moff, 8);
  put(f, 64, toff, 8);
  put(f, 72, tsize, 8);
  put(f, 80, doff, 8);
  put(f, 88, dend - doff, 8);
  put(f, 96, f.size(), 8);
  for (const auto& [off, v] : header_override) put(f, off, v, field_width(off));
  if (edit) edit(f);
  if (fix_header_crc && header_size >= 8 && header_size <= f.size())
    put(f, header_size - 4, crc32c({f.data(), header_size - 4u}), 4);
  if (fix_file_crc && f.size() >= 4) put(f, f.size() - 4, crc32c({f.data(), f.size() - 4}), 4);
  return f;
}

void fix_checksums(std::vector<uint8_t>& f) {
  uint32_t hs = 0;
  std::memcpy(&hs, f.data() + 16, 4);
  if (hs >= 8 && hs <= f.size()) put(f, hs - 4, crc32c({f.data(), hs - 4u}), 4);
  put(f, f.size() - 4, crc32c({f.data(), f.size() - 4}), 4);
}

std::vector<uint8_t> f32_payload(uint64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<uint8_t> b(n * 4);
  for (uint64_t i = 0; i < n; ++i) {
    const float v = dist(rng);
    std::memcpy(b.data() + 4 * i, &v, 4);
  }
  return b;
}

RawTrw small_valid_raw() {
  RawTrw r;
  r.meta.push_back(meta_str("model.name", "tiny"));
  r.meta.push_back(meta_i64("arch.dim", 8));
  r.meta.push_back(RawMeta{"input.mean", 2, enc_u64(0x3FE0000000000000ull), {}});  // 0.5
  r.tensors.push_back(RawTensor{"a.weight", 1, {3, 5}, f32_payload(15, 1), {}, {}, {}, {}, {}});
  std::vector<uint8_t> h(2 * 7);
  for (size_t i = 0; i < h.size(); ++i) h[i] = uint8_t(i * 37 + 1);
  h[1] &= 0x7B;  // keep the values finite: not required by the format, just tidy
  r.tensors.push_back(RawTensor{"b.bias", 2, {7}, h, {}, {}, {}, {}, {}});
  // q8 [2, 3]: 6 int8s, 2 padding bytes, 2 scales.
  std::vector<uint8_t> q = {1, 2, 3, 0xFF, 0x80, 7, 0, 0};
  const float s[2] = {0.5f, 0.25f};
  q.resize(16);
  std::memcpy(q.data() + 8, s, 8);
  r.tensors.push_back(RawTensor{"c.weight", 4, {2, 3}, q, {}, {}, {}, {}, {}});
  return r;
}

}  // namespace triage::trw::test
