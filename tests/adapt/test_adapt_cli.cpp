// `triage adapt` end to end on the shipped adc-pcb model with generated images of known, separable
// structure (dark and bright textured fields, vertical stripes, rings; random period, phase and noise; PGM
// files): the
// new model decides them, its file carries the new classes, an uncalibrated router and the provenance;
// refusals; determinism; never over the input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "tests/router/cli_run.h"
#include "weights_format/trw.h"

namespace triage::test {
namespace {

using json = nlohmann::json;

// 80 x 80 8-bit grey image of a pattern with noise.
void write_pgm(const std::string& path, const std::string& kind, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const int S = 80;
  const double period = 8 + 10 * u(rng), phase = 6.3 * u(rng);
  std::string px(S * S, '\0');
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      double v;
      if (kind == "dark") v = 50 + 20 * std::sin(6.2832 * (x + y) / period + phase);
      else if (kind == "bright") v = 205 + 20 * std::sin(6.2832 * (x - y) / period + phase);
      else if (kind == "vstripe") v = 128 + 110 * std::sin(6.2832 * x / period + phase);
      else v = 128 + 110 * std::sin(6.2832 * std::hypot(x - S / 2.0, y - S / 2.0) / period + phase);  // ring
      v += 30 * (u(rng) - 0.5);
      px[size_t(y) * S + x] = static_cast<char>(std::clamp(static_cast<int>(v), 0, 255));
    }
  write_text(path, "P5\n80 80\n255\n" + px);
}

// A folder DIR/<class>/<n>.pgm of `per` images per class, seeds offset by `base`.
std::string make_set(const TmpDir& d, const std::string& name, const std::vector<std::string>& classes, int per,
                     uint64_t base) {
  const std::string root = d / name;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::filesystem::create_directories(root + "/" + classes[c]);
    for (int i = 0; i < per; ++i)
      write_pgm(root + "/" + classes[c] + "/" + std::to_string(i) + ".pgm", classes[c], base + 1000 * c + i);
  }
  return root;
}

struct Meta {
  trw::Buffer buf;
  trw::File f;
};
bool open_meta(const std::string& path, Meta& m) {
  trw::Error e;
  return m.buf.read_file(path, e) && m.f.parse(m.buf.span(), e);
}

#define NEED_PCB(var)                                \
  const std::string var = converted_model("adc-pcb", "q8"); \
  ASSERT_FALSE(var.empty()) << "models/adc-pcb is shipped"

TEST(AdaptCli, ReplaceLearnsSeparableClassesAndWritesAnUncalibratedModelWithProvenance) {
  NEED_PCB(model);
  TmpDir d;
  const std::vector<std::string> cls = {"bright", "dark", "ring"};
  const std::string train = make_set(d, "train", cls, 8, 1), hold = make_set(d, "hold", cls, 6, 500);
  const CliResult r = run_triage({"adapt", model, "--data", train, "--classes", "replace", "--holdout", hold, "-o",
                                  d / "new.trw", "--threads", "2", "--json"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  const json rep = json::parse(r.out);
  EXPECT_EQ(rep["labels"], json(cls));
  EXPECT_EQ(rep["fit"]["method"], "logreg");
  EXPECT_TRUE(rep["good_label"].is_null());  // adc-pcb's good class 'none' is not in the data
  EXPECT_GE(rep["holdout_accuracy"]["fine"].get<double>(), 0.9);
  EXPECT_GE(rep["holdout_accuracy"]["coarse"].get<double>(), 0.9);
  EXPECT_GT(rep["seconds"]["features"].get<double>(), 0);

  Meta m, base;
  ASSERT_TRUE(open_meta(d / "new.trw", m));
  ASSERT_TRUE(open_meta(model, base));
  trw::Error e;
  std::vector<std::string> labels;
  ASSERT_TRUE(m.f.get_str_array("labels", labels, e));
  EXPECT_EQ(labels, cls);
  int64_t cal = 1;
  ASSERT_TRUE(m.f.get_i64("router.calibrated", cal, e));
  EXPECT_EQ(cal, 0);
  std::string prov_text, sha, base_sha, adapted_from;
  ASSERT_TRUE(m.f.get_str("adapt.provenance", prov_text, e));
  const json prov = json::parse(prov_text);
  for (const char* key : {"tool_version", "date", "data_sha256", "counts", "fit", "holdout", "base_model", "classes"})
    EXPECT_TRUE(prov.contains(key)) << key;
  EXPECT_EQ(prov["counts"]["ring"], 8);
  EXPECT_EQ(prov["data_sha256"].get<std::string>().size(), 64u);
  ASSERT_TRUE(m.f.get_str("source.sha256", sha, e));
  ASSERT_TRUE(base.f.get_str("source.sha256", base_sha, e));
  ASSERT_TRUE(m.f.get_str("adapt.base_source_sha256", adapted_from, e));
  EXPECT_NE(sha, base_sha);
  EXPECT_EQ(adapted_from, base_sha);
  const trw::TensorView* hw = m.f.find_tensor("head.weight");
  ASSERT_NE(hw, nullptr);
  EXPECT_EQ(hw->dims[0], 3u);
  EXPECT_EQ(hw->dtype, base.f.find_tensor("head.weight")->dtype);  // q8 stays q8
  // Every backbone tensor is the base's, byte for byte.
  for (const trw::TensorView& t : base.f.tensors()) {
    if (t.name.rfind("head.", 0) == 0) continue;
    const trw::TensorView* n = m.f.find_tensor(t.name);
    ASSERT_NE(n, nullptr) << t.name;
    ASSERT_EQ(n->nbytes, t.nbytes);
    EXPECT_EQ(std::memcmp(n->data, t.data, t.nbytes), 0) << t.name;
  }

  // The engine decides the held-out images with the new file (triage run, fine pass forced).
  const CliResult run = run_triage({"run", d / "new.trw", hold + "/bright", hold + "/dark", hold + "/ring", "--json", "--force", "fine"});
  ASSERT_EQ(run.status, 0) << run.err;
  int right = 0, total = 0;
  size_t pos = 0;
  while (pos < run.out.size()) {
    const size_t end = run.out.find('\n', pos);
    const std::string line = run.out.substr(pos, end - pos);
    pos = end == std::string::npos ? run.out.size() : end + 1;
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    if (!j.contains("path")) continue;
    const std::string path = j["path"];
    const std::string truth = std::filesystem::path(path).parent_path().filename().string();
    ++total;
    right += j["class"] == truth;
  }
  EXPECT_EQ(total, 18);
  EXPECT_GE(right, 16);
}

TEST(AdaptCli, DeterministicHead) {
  NEED_PCB(model);
  TmpDir d;
  const std::string train = make_set(d, "train", {"dark", "vstripe"}, 5, 2);
  for (const char* out : {"a.trw", "b.trw"})
    ASSERT_EQ(run_triage({"adapt", model, "--data", train, "--classes", "replace", "-o", d / out}).status, 0);
  Meta a, b;
  ASSERT_TRUE(open_meta(d / "a.trw", a));
  ASSERT_TRUE(open_meta(d / "b.trw", b));
  for (const char* t : {"head.weight", "head.bias"}) {
    const trw::TensorView* x = a.f.find_tensor(t);
    const trw::TensorView* y = b.f.find_tensor(t);
    ASSERT_EQ(x->nbytes, y->nbytes);
    EXPECT_EQ(std::memcmp(x->data, y->data, x->nbytes), 0) << t;
  }
}

TEST(AdaptCli, AddKeepsTheOldRowsAndFitsTheNewClassAgainstOldClassImages) {
  NEED_PCB(model);
  TmpDir d;
  // 'ring' is new; dark textured fields stand in for images of the old class 'open'.
  const std::string train = make_set(d, "train", {"dark", "ring"}, 6, 3);
  std::filesystem::rename(train + "/dark", train + "/open");
  const CliResult r = run_triage({"adapt", model, "--data", train, "--classes", "add", "-o", d / "add.trw", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json rep = json::parse(r.out);
  Meta base, out;
  ASSERT_TRUE(open_meta(model, base));
  ASSERT_TRUE(open_meta(d / "add.trw", out));
  std::vector<std::string> old;
  trw::Error e;
  ASSERT_TRUE(base.f.get_str_array("labels", old, e));
  std::vector<std::string> want = old;
  want.push_back("ring");
  EXPECT_EQ(rep["labels"], json(want));
  EXPECT_EQ(rep["good_label"], "none");  // kept
  // The engine on the new file: ring images are 'ring', the old-class images are not.
  for (const char* cls : {"ring", "open"}) {
    const CliResult run = run_triage({"run", d / "add.trw", train + "/" + cls, "--json", "--force", "fine"});
    ASSERT_EQ(run.status, 0) << run.err;
    int rings = 0;
    for (size_t pos = 0; (pos = run.out.find("\"class\":\"ring\"", pos)) != std::string::npos; ++pos) ++rings;
    EXPECT_EQ(rings, std::string(cls) == "ring" ? 6 : 0) << cls << "\n" << run.out;
  }
  // The old rows of the q8 head are the base's, byte for byte (a dequantised row re-quantises to itself),
  // and their biases the same up to the fold's rounding.
  const trw::TensorView* bw = base.f.find_tensor("head.weight");
  const trw::TensorView* nw = out.f.find_tensor("head.weight");
  ASSERT_EQ(nw->dims[0], bw->dims[0] + 1);
  EXPECT_EQ(std::memcmp(nw->data, bw->data, bw->numel), 0);
  EXPECT_EQ(std::memcmp(nw->scales, bw->scales, 4 * bw->dims[0]), 0);
  const float* bb = reinterpret_cast<const float*>(base.f.find_tensor("head.bias")->data);
  const float* nb = reinterpret_cast<const float*>(out.f.find_tensor("head.bias")->data);
  for (uint64_t c = 0; c < bw->dims[0]; ++c) EXPECT_NEAR(nb[c], bb[c], 1e-4f * (1 + std::fabs(bb[c]))) << c;
  // Only new classes in the data: refused (the new class would win everywhere).
  const std::string only = make_set(d, "only", {"ring"}, 6, 4);
  const CliResult r2 = run_triage({"adapt", model, "--data", only, "--classes", "add", "-o", d / "only.trw"});
  EXPECT_EQ(r2.status, 1);
  EXPECT_NE(r2.err.find("only new classes"), std::string::npos) << r2.err;
}

TEST(AdaptCli, FewImagesSwitchToNearestClassMean) {
  NEED_PCB(model);
  TmpDir d;
  const std::string train = make_set(d, "train", {"dark", "vstripe"}, 3, 4);
  const CliResult r = run_triage({"adapt", model, "--data", train, "--classes", "replace", "-o", d / "n.trw", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["fit"]["method"], "ncm");
  EXPECT_NE(run_triage({"adapt", model, "--data", train, "--classes", "replace", "--method", "logreg", "-o", d / "l.trw"}).status, 0);
}

TEST(AdaptCli, Refusals) {
  NEED_PCB(model);
  TmpDir d;
  const std::string two = make_set(d, "two", {"dark", "vstripe"}, 5, 5);
  // keep with labels the model lacks
  CliResult r = run_triage({"adapt", model, "--data", two, "-o", d / "k.trw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("not a class"), std::string::npos) << r.err;
  // add with nothing new: the shipped samples carry only the model's labels
  r = run_triage({"adapt", model, "--data", source_dir() + "/models/adc-pcb/samples/labels.csv", "--classes", "add", "-o",
                  d / "a.trw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no label the model lacks"), std::string::npos) << r.err;
  // one image of a class: neither method can fit it
  const std::string one = make_set(d, "one", {"ring"}, 1, 6);
  std::filesystem::copy(two + "/dark", one + "/dark");
  r = run_triage({"adapt", model, "--data", one, "--classes", "replace", "-o", d / "o.trw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("'ring' has 1 image"), std::string::npos) << r.err;
  // unlabelled data: images directly in the folder
  write_pgm(d / "two/loose.pgm", "ring", 7);
  r = run_triage({"adapt", model, "--data", two, "--classes", "replace", "-o", d / "u.trw"});
  EXPECT_EQ(r.status, 1);
  std::filesystem::remove(d / "two/loose.pgm");
  // an image that does not fit the model's input (2 channels for a grey model)
  std::string npy = "\x93NUMPY\x01";
  npy += '\0';
  std::string hdr = "{'descr': '|u1', 'fortran_order': False, 'shape': (8, 8, 2), }";
  while ((10 + hdr.size() + 1) % 64) hdr += ' ';
  hdr += '\n';
  npy += static_cast<char>(hdr.size() & 0xff);
  npy += static_cast<char>(hdr.size() >> 8);
  npy += hdr + std::string(128, '\x40');
  write_text(two + "/vstripe/bad.npy", npy);
  r = run_triage({"adapt", model, "--data", two, "--classes", "replace", "-o", d / "c.trw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("bad.npy"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d / "c.trw"));
  std::filesystem::remove(two + "/vstripe/bad.npy");
  // a label with a control character (it would become a class name)
  write_text(d / "ctl.csv", "path,label\n" + two + "/dark/0.pgm,da\x01rk\n");
  r = run_triage({"adapt", model, "--data", d / "ctl.csv", "--classes", "replace", "-o", d / "ctl.trw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("control characters"), std::string::npos) << r.err;
  // never over the input
  r = run_triage({"adapt", model, "--data", two, "--classes", "replace", "-o", model});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("refusing to overwrite"), std::string::npos);
  // bad options
  EXPECT_EQ(run_triage({"adapt", model, "--data", two, "--classes", "merge", "-o", d / "x.trw"}).status, 2);
  EXPECT_EQ(run_triage({"adapt", model, "--data", two, "-o", d / "x.trw", "--good", "nope", "--classes", "replace"}).status, 1);
}

}  // namespace
}  // namespace triage::test
