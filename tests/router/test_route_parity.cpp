// Router parity with the PyTorch reference: for each shipped model's goldens (the first 16 samples),
// the engine's route, class and review flag under several threshold sets equal what
// tools/train/route_reference.py decided with model.py (fixtures routes_<model>.json). The f32 model
// is used (the reference is f32); a decision is compared when its probabilities are at least kTol
// from the thresholds they meet (the f32 engine and PyTorch differ by ~1e-6). The logits and the
// patch selection themselves are compared with the goldens by test_runtime (not repeated here).
#include <gtest/gtest.h>

#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/triage.h"
#include "tests/router/cli_run.h"
#include "tools/cli/image_io.h"
#include "tools/convert/router_keys.h"
#include "weights_format/trw.h"

namespace triage::test {
namespace {

using json = nlohmann::json;
constexpr double kTol = 1e-4;

void check_model(const std::string& name) {
  const std::string dir = source_dir() + "/models/" + name;
  const std::string fixture = source_dir() + "/tests/router/routes_" + name + ".json";
  const std::string model = converted_model(name, "f32");
  if (model.empty()) GTEST_SKIP() << "models/" << name << " not shipped yet";
  const json fx = json::parse(read_text(fixture), nullptr, false);
  ASSERT_TRUE(fx.is_object()) << fixture << " missing or malformed: run python3 tools/train/route_reference.py";
  trw::Buffer buf;
  trw::File f;
  trw::Error e;
  ASSERT_TRUE(buf.read_file(model, e) && f.parse(buf.span(), e)) << e.message;
  std::string sha;
  ASSERT_TRUE(f.get_str("source.sha256", sha, e));
  ASSERT_EQ(sha, fx["source_sha256"].get<std::string>())
      << fixture << " was made for another checkpoint: run python3 tools/train/route_reference.py";

  for (const json& set : fx["sets"]) {
    const std::string sname = set["name"];
    convert::RouterKeys k;
    convert::identify_model(f, k);
    const json& t = set["thresholds"];
    k.coarse_good = t["coarse_good_threshold"];
    k.coarse_defect = t["coarse_defect_threshold"];
    k.fine_good = t["fine_good_threshold"];
    k.review = t["review_threshold"];
    k.class_review.clear();
    if (t.contains("class_review_thresholds")) k.class_review = t["class_review_thresholds"].get<std::vector<double>>();
    trw::Writer w;
    convert::Error cerr;
    ASSERT_TRUE(convert::copy_model(f, w, cerr)) << cerr.message;
    convert::set_router_keys(k, w);
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(w.serialize(bytes, e)) << e.message;
    triage_options o;
    triage_options_init(&o);
    o.flags = TRIAGE_OPEN_ALLOW_UNCALIBRATED;  // the reference decides with these thresholds (f32: uncalibrated)
    triage_model* m = nullptr;
    ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &m), TRIAGE_OK) << triage_open_error();
    size_t compared = 0;
    const json& imgs = set["images"];
    for (size_t i = 0; i < imgs.size(); ++i) {
      if (imgs[i]["margin"].get<double>() < kTol) continue;
      cli::Image img;
      std::string err;
      const std::string path = dir + "/" + fx["paths"][i].get<std::string>();
      ASSERT_TRUE(cli::read_image(path, img, err)) << err;
      const triage_image v = img.view();
      triage_result r;
      ASSERT_EQ(triage_classify(m, &v, &r), TRIAGE_OK) << triage_last_error(m);
      const std::string route = r.route == TRIAGE_ROUTE_FINE ? "fine" : "coarse";
      EXPECT_EQ(route, imgs[i]["route"].get<std::string>()) << name << " " << sname << " " << path;
      EXPECT_EQ(r.class_index, imgs[i]["class"].get<int>()) << name << " " << sname << " " << path;
      EXPECT_EQ(r.review != 0, imgs[i]["review"].get<bool>()) << name << " " << sname << " " << path;
      ++compared;
    }
    triage_close(m);
    EXPECT_GE(compared, imgs.size() / 2) << name << " " << sname << ": too few clear decisions to compare";
  }
}

TEST(RouteParity, WaferGoldens) { check_model("awc-wm811k"); }
TEST(RouteParity, PcbGoldens) { check_model("adc-pcb"); }
TEST(RouteParity, OpticalGoldens) { check_model("adc-optical"); }

}  // namespace
}  // namespace triage::test
