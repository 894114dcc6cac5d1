// Sharded checkpoints (model.safetensors.index.json + shards): convert to the same tensors as the
// single-file checkpoint, hash the shards in sorted name order, and refuse inconsistent indexes.
#include <gtest/gtest.h>

#include "tests/convert/convert_helpers.h"
#include "tools/convert/checkpoint.h"
#include "tools/convert/sha256.h"

namespace triage::convert {
namespace {

using json = nlohmann::json;

// Splits the model's entries over shards: entry i goes to shard i % n. Writes the shards and an index.
// Returns the index path.
std::string write_sharded(const test::TempDir& dir, const test::TinyModel& m, int n, json* index_out = nullptr) {
  auto es = test::entries(m);
  std::vector<std::vector<test::StEntry>> parts(n);
  json wm = json::object();
  for (size_t i = 0; i < es.size(); ++i) {
    const std::string shard = "model-0000" + std::to_string(i % n + 1) + "-of-0000" + std::to_string(n) + ".safetensors";
    wm[es[i].name] = shard;
    parts[i % n].push_back(es[i]);
  }
  for (int s = 0; s < n; ++s)
    test::write_bytes(dir.path("model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(n) + ".safetensors"),
                      test::make_safetensors(parts[s]));
  json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", wm}};
  if (index_out) *index_out = index;
  test::write_text(dir.path("model.safetensors.index.json"), index.dump(2));
  test::write_text(dir.path("config.json"), m.config.dump());
  return dir.path("model.safetensors.index.json");
}

TEST(Sharded, ConvertsLikeTheSingleFileAndHashesShardsInNameOrder) {
  test::TinyModel m = test::tiny_cfvit(12);
  test::TempDir single_dir, sharded_dir;
  test::Converted single;
  Error err;
  ASSERT_TRUE(test::convert_model(single_dir, m, trw::DType::Q8, single, err)) << err.message;

  const std::string index = write_sharded(sharded_dir, m, 3);
  ConvertOptions opt{sharded_dir.dir(), "", trw::DType::Q8, sharded_dir.path("o.trw")};  // directory form
  ConvertReport rep;
  ASSERT_TRUE(convert_checkpoint(opt, rep, err)) << err.message;
  trw::Buffer buf;
  trw::File f;
  trw::Error terr;
  ASSERT_TRUE(buf.read_file(opt.output, terr) && f.parse(buf.span(), terr)) << terr.message;

  ASSERT_EQ(f.tensors().size(), single.file.tensors().size());
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& a = f.tensors()[i];
    const auto& b = single.file.tensors()[i];
    EXPECT_EQ(a.name, b.name);
    ASSERT_EQ(a.nbytes, b.nbytes);
    EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << a.name;
  }
  Sha256 h;
  for (const char* s : {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                        "model-00003-of-00003.safetensors"})
    h.update(test::read_bytes(sharded_dir.path(s)));
  auto digest = h.finish();
  std::string want = to_hex(digest);
  std::string got;
  ASSERT_TRUE(f.get_str("source.sha256", got, terr));
  EXPECT_EQ(got, want);
  EXPECT_EQ(rep.source_sha256, want);

  // The index form works too, and every shard counts as an input that must not be overwritten.
  opt.checkpoint = index;
  opt.output = sharded_dir.path("model-00002-of-00003.safetensors");
  EXPECT_FALSE(convert_checkpoint(opt, rep, err));
  EXPECT_NE(err.message.find("refusing to overwrite input"), std::string::npos) << err.message;
  opt.output = index;
  EXPECT_FALSE(convert_checkpoint(opt, rep, err));
  EXPECT_NE(err.message.find("refusing to overwrite input"), std::string::npos) << err.message;
}

// Loads the checkpoint; returns the error message ("" on success).
std::string load_error(const std::string& path) {
  Checkpoint ck;
  Error err;
  return load_checkpoint(path, ck, err) ? "" : err.message;
}

TEST(Sharded, TensorInTwoShardsIsRefused) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_vit(1);
  const std::string index = write_sharded(dir, m, 2);
  // Shard 2 also holds entry 0, which the index (and shard 1) have.
  auto es = test::entries(m);
  std::vector<test::StEntry> part2;
  for (size_t i = 1; i < es.size(); i += 2) part2.push_back(es[i]);
  part2.push_back(es[0]);
  test::write_bytes(dir.path("model-00002-of-00002.safetensors"), test::make_safetensors(part2));
  std::string msg = load_error(index);
  EXPECT_NE(msg.find("tensor '" + es[0].name + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("is also in shard 'model-00001-of-00002.safetensors'"), std::string::npos) << msg;
}

TEST(Sharded, InconsistentIndexesAreRefused) {
  test::TempDir dir;
  test::TinyModel m = test::tiny_vit(1);
  json index;
  const std::string path = write_sharded(dir, m, 2, &index);
  ASSERT_EQ(load_error(path), "");

  auto with = [&](const json& idx) {
    test::write_text(path, idx.dump());
    return load_error(path);
  };
  json bad = index;
  bad["weight_map"]["ghost"] = "model-00001-of-00002.safetensors";
  EXPECT_NE(with(bad).find("'ghost'"), std::string::npos);
  bad = index;
  bad["weight_map"].erase("norm.bias");
  EXPECT_NE(with(bad).find("not in the index's weight_map"), std::string::npos);
  bad = index;
  bad["weight_map"]["norm.bias"] = "../model-00001-of-00002.safetensors";
  EXPECT_NE(with(bad).find("must name a shard file in the index's directory"), std::string::npos);
  bad = index;
  bad["weight_map"]["norm.bias"] = "missing.safetensors";
  EXPECT_NE(with(bad).find("cannot open"), std::string::npos);
  bad = index;
  bad["weight_map"] = json::array();
  EXPECT_NE(with(bad).find("weight_map"), std::string::npos);
  // A malformed shard is reported with the shard's name.
  test::write_text(path, index.dump());
  auto shard = test::read_bytes(dir.path("model-00002-of-00002.safetensors"));
  shard.resize(shard.size() - 1);
  test::write_bytes(dir.path("model-00002-of-00002.safetensors"), shard);
  EXPECT_NE(load_error(path).find("model-00002-of-00002.safetensors: tensor"), std::string::npos);
}

}  // namespace
}  // namespace triage::convert
