// Fuzz target for the .trw reader. For any input: parse (with and without checksums) never crashes;
// skipping checksums accepts a superset, differing only by checksum failures; an accepted file has
// every tensor byte and metadata value readable, and re-writing it with trw::Writer gives a file
// that parses back to the same content.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "weights_format/trw.h"

#define TRIAGE_FUZZ_TARGET "fuzz_trw"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace triage::trw;

volatile uint64_t g_sink;

uint64_t bits_of(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// Reads every byte of every payload and every metadata value through the public accessors.
void touch(const File& f) {
  uint64_t acc = 0;
  for (const TensorView& t : f.tensors()) {
    FUZZ_CHECK(f.find_tensor(t.name) == &t, "tensor names are unique");
    for (uint64_t i = 0; i < t.nbytes; ++i) acc += t.data[i];
    if (t.dtype == DType::F16 || t.dtype == DType::BF16)
      for (uint64_t i = 0; i < t.numel; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        acc += bits_of(t.dtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h));
      }
    if (t.dtype == DType::Q8) {
      FUZZ_CHECK(reinterpret_cast<uintptr_t>(t.scales) % 4 == 0, "q8 scales are 4-byte aligned");
      for (uint64_t c = 0; c < t.dims[0]; ++c) acc += bits_of(t.scales[c]);
    }
    FUZZ_CHECK(reinterpret_cast<uintptr_t>(t.data) % 64 == 0, "payloads are 64-byte aligned");
  }
  Error err;
  for (const MetaEntry& e : f.metadata()) {
    FUZZ_CHECK(f.find_meta(e.key) == &e.value, "metadata keys are unique");
    int64_t i;
    double d;
    std::string s;
    std::vector<int64_t> ia;
    std::vector<double> fa;
    std::vector<std::string> sa;
    bool ok = false;
    switch (e.value.type) {
      case MetaType::I64: ok = f.get_i64(e.key, i, err), acc += uint64_t(i); break;
      case MetaType::F64: ok = f.get_f64(e.key, d, err), acc += bits_of(d); break;
      case MetaType::Str: ok = f.get_str(e.key, s, err), acc += s.size(); break;
      case MetaType::I64Array: ok = f.get_i64_array(e.key, ia, err), acc += ia.size(); break;
      case MetaType::F64Array: ok = f.get_f64_array(e.key, fa, err), acc += fa.size(); break;
      case MetaType::StrArray: ok = f.get_str_array(e.key, sa, err), acc += sa.size(); break;
    }
    FUZZ_CHECK(ok, "the typed getter of an entry's own type succeeds");
    FUZZ_CHECK(!f.get_i64(e.key, i, err) || e.value.type == MetaType::I64, "getters check the type");
  }
  g_sink = acc;
}

bool same_value(const MetaValue& a, const MetaValue& b) {
  if (a.type != b.type || a.i != b.i || bits_of(a.f) != bits_of(b.f) || a.s != b.s || !std::ranges::equal(a.ia, b.ia) ||
      !std::ranges::equal(a.sa, b.sa) || a.fa.size() != b.fa.size())
    return false;
  for (size_t k = 0; k < a.fa.size(); ++k)
    if (bits_of(a.fa[k]) != bits_of(b.fa[k])) return false;
  return true;
}

// Writes f again with the Writer and checks the result parses to the same content.
void rewrite(const File& f) {
  Writer w;
  w.copy_metadata_from(f);
  w.set_optional_features(f.optional_features());
  Error err;
  for (const TensorView& t : f.tensors()) {
    const bool q8 = t.dtype == DType::Q8;
    std::vector<float> scales(q8 ? t.dims[0] : 0);
    if (q8 && !scales.empty()) std::memcpy(scales.data(), t.scales, 4 * scales.size());
    const uint64_t n = q8 ? t.numel : t.nbytes;
    FUZZ_CHECK(w.add_tensor(std::string(t.name), t.dtype, {t.dims, t.rank}, {t.data, size_t(n)}, err, scales),
               "an accepted tensor can be written again");
  }
  std::vector<uint8_t> bytes;
  FUZZ_CHECK(w.serialize(bytes, err), "an accepted file can be written again");
  Buffer buf;
  FUZZ_CHECK(buf.assign(bytes, err), "buffer copy");
  File g;
  FUZZ_CHECK(g.parse(buf.span(), err), "a written file parses");
  FUZZ_CHECK(g.metadata().size() == f.metadata().size() && g.tensors().size() == f.tensors().size(), "same counts");
  for (size_t k = 0; k < f.metadata().size(); ++k) {
    FUZZ_CHECK(g.metadata()[k].key == f.metadata()[k].key, "same key order");
    FUZZ_CHECK(same_value(g.metadata()[k].value, f.metadata()[k].value), "same metadata values");
  }
  for (size_t k = 0; k < f.tensors().size(); ++k) {
    const TensorView &a = f.tensors()[k], &b = g.tensors()[k];
    FUZZ_CHECK(a.name == b.name && a.dtype == b.dtype && a.rank == b.rank && a.numel == b.numel &&
                   a.nbytes == b.nbytes && std::memcmp(a.dims, b.dims, sizeof a.dims) == 0,
               "same tensor header");
    FUZZ_CHECK(a.nbytes == 0 || std::memcmp(a.data, b.data, size_t(a.nbytes)) == 0, "same tensor bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Buffer buf;
  Error err;
  if (!buf.assign({data, size}, err)) return 0;  // the parser needs an aligned copy
  File checked, unchecked;
  Error ce, ue;
  const bool ok = checked.parse(buf.span(), ce);
  FUZZ_CHECK(ok == (ce.code == Errc::Ok), "result and error code agree");
  FUZZ_CHECK(ok || !ce.message.empty(), "every error has a message");
  FUZZ_CHECK(ok || ce.message.find("offset " + std::to_string(ce.offset)) != std::string::npos,
             "every message names its offset");
  ParseOptions skip;
  skip.verify_checksums = false;
  const bool uok = unchecked.parse(buf.span(), ue, skip);
  FUZZ_CHECK(!ok || uok, "skipping checksums never rejects a valid file");
  FUZZ_CHECK(ok || !uok || ce.code == Errc::Checksum, "the only extra rejections are checksum failures");
  if (ok) touch(checked);
  if (uok) {
    touch(unchecked);
    rewrite(unchecked);
  }
  return 0;
}
