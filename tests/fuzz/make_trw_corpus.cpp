// Writes the seed corpus of fuzz_trw into a directory: small valid files (every dtype and metadata
// type, ranks 0..4, empty tensors) and a few broken ones that stop at different reader checks.
// Usage: make_trw_corpus <dir>. The output is committed in tests/fuzz/corpus/trw/.
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "weights_format/trw.h"

namespace {

using namespace triage::trw;

std::mt19937 g_rng(20240601);

void must(bool ok, const Error& err) {
  if (!ok) {
    std::fprintf(stderr, "make_trw_corpus: %s\n", err.message.c_str());
    std::exit(1);
  }
}

void add(Writer& w, const std::string& name, DType dt, std::vector<uint64_t> dims) {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  std::vector<uint8_t> payload(n * dtype_elem_size(dt));
  for (auto& b : payload) b = uint8_t(g_rng());
  std::vector<float> scales;
  if (dt == DType::Q8)
    for (uint64_t c = 0; c < dims[0]; ++c) scales.push_back(float(g_rng() % 100 + 1) / 1024.0f);
  Error err;
  must(w.add_tensor(name, dt, dims, payload, err, scales), err);
}

std::vector<uint8_t> bytes_of(const Writer& w) {
  std::vector<uint8_t> out;
  Error err;
  must(w.serialize(out, err), err);
  return out;
}

void put32(std::vector<uint8_t>& f, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[off + i] = uint8_t(v >> (8 * i));
}

// Recomputes the header and file CRCs after an edit, so the file fails on the edit itself.
void fix_crcs(std::vector<uint8_t>& f) {
  put32(f, 124, crc32c({f.data(), 124}));
  put32(f, f.size() - 4, crc32c({f.data(), f.size() - 4}));
}

void save(const std::string& dir, const std::string& name, const std::vector<uint8_t>& b) {
  const std::string path = dir + "/" + name;
  Error err;
  must(write_file_atomic(path, b, err), err);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_trw_corpus <dir>\n");
    return 2;
  }
  const std::string dir = argv[1];

  save(dir, "empty.trw", bytes_of(Writer{}));

  Writer meta;
  meta.set_i64("arch.dim", 32);
  meta.set_f64("arch.ln_eps", 1e-6);
  meta.set_str("model.name", "seed");
  meta.set_i64_array("arch.stem_channels", {8, 16});
  meta.set_f64_array("f", {0.5, -1.0});
  meta.set_str_array("labels", {"good", "particle", ""});
  meta.set_str("router.provenance", "{}");
  save(dir, "metadata_only.trw", bytes_of(meta));

  Writer mixed;
  mixed.set_str("converter.dtype", "q8");
  add(mixed, "scalar", DType::F32, {});
  add(mixed, "vec", DType::F16, {5});
  add(mixed, "mat", DType::BF16, {3, 4});
  add(mixed, "q.weight", DType::Q8, {3, 5});
  add(mixed, "conv", DType::Q8, {2, 1, 3, 3});
  add(mixed, "ones", DType::F32, {1, 1, 1, 2});
  add(mixed, "empty", DType::F32, {0, 4});
  add(mixed, "q.empty", DType::Q8, {2, 0});
  const std::vector<uint8_t> mixed_bytes = bytes_of(mixed);
  save(dir, "mixed_dtypes.trw", mixed_bytes);

  Writer tiny;
  tiny.set_str("model.name", "tiny");
  tiny.set_str("arch.name", "cfvit");
  tiny.set_i64("arch.depth", 1);
  tiny.set_str_array("labels", {"good", "bad"});
  tiny.set_str("good_label", "good");
  add(tiny, "stem.0.weight", DType::F32, {4, 1, 3, 3});
  add(tiny, "stem.0.bias", DType::F32, {4});
  add(tiny, "blocks.0.attn.qkv.weight", DType::Q8, {24, 8});
  add(tiny, "blocks.0.attn.qkv.bias", DType::F32, {24});
  add(tiny, "head.weight", DType::Q8, {2, 8});
  add(tiny, "head.bias", DType::F32, {2});
  save(dir, "model_tiny.trw", bytes_of(tiny));

  // Broken seeds, each failing at a different stage of the reader.
  std::vector<uint8_t> b = mixed_bytes;
  b.resize(100);
  save(dir, "broken_truncated_header.bin", b);
  b = mixed_bytes;
  b.resize(b.size() - 70);
  save(dir, "broken_truncated_data.bin", b);
  b = mixed_bytes;
  b[8] = 2;  // major version 2
  fix_crcs(b);
  save(dir, "broken_major2.bin", b);
  b = mixed_bytes;
  b[24] = 1;  // an unknown required feature
  fix_crcs(b);
  save(dir, "broken_required_feature.bin", b);
  b = mixed_bytes;
  b[b.size() - 40] ^= 0x10;  // a data byte: payload or padding, file CRC left stale
  save(dir, "broken_file_crc.bin", b);
  b = mixed_bytes;
  b[200] ^= 0x01;  // inside the tensor table, CRCs fixed: a structural error
  fix_crcs(b);
  save(dir, "broken_table_byte.bin", b);
  return 0;
}
