// Out-of-distribution refusal (issue 16): result.unknown is 1 exactly when the deciding pass's energy is
// above the file's threshold for that pass or the input's statistics lie outside the file's range; the
// scores behind it (triage_get_ood_scores) are deterministic and the input statistics are what their
// definition says; files without OOD keys never flag; the keys are checked at open.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "runtime/triage.h"
#include "tests/runtime/random_model.h"
#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

struct Handle {
  triage_model* m = nullptr;
  ~Handle() { triage_close(m); }
};

RandomModelSpec spec(const char* dtype = "q8") {
  RandomModelSpec s;
  s.dtype = dtype;
  s.ncls = 4;
  s.good = 0;
  s.coarse_good = 0.5;
  s.fine_good = 0.4;
  s.coarse_defect = 0.5;
  s.calibrated = 1;
  return s;
}

constexpr int kImages = 32;
TestImage image(int i) { return make_random_image(900 + i, 30 + 5 * (i % 9), 70 - 3 * (i % 7), 1, i % 5 == 4); }

struct Scores {
  float energy, mean, std;
  uint32_t route, unknown;
};

std::vector<Scores> run(const std::vector<uint8_t>& bytes, uint32_t threads = 1, uint32_t batch = 1) {
  Handle h;
  triage_options o = options(threads, batch);
  EXPECT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &h.m), TRIAGE_OK) << triage_open_error();
  std::vector<Scores> out;
  for (int i0 = 0; i0 < kImages; i0 += static_cast<int>(batch)) {
    const int n = std::min<int>(static_cast<int>(batch), kImages - i0);
    std::vector<TestImage> imgs;
    std::vector<triage_image> views;
    for (int i = 0; i < n; ++i) imgs.push_back(image(i0 + i));
    for (const TestImage& t : imgs) views.push_back(view(t));
    std::vector<triage_result> rs(static_cast<size_t>(n));
    EXPECT_EQ(triage_classify_batch(h.m, views.data(), static_cast<size_t>(n), rs.data()), TRIAGE_OK) << triage_last_error(h.m);
    for (int i = 0; i < n; ++i) {
      float s[TRIAGE_OOD_SCORES];
      EXPECT_EQ(triage_get_ood_scores(h.m, static_cast<size_t>(i), s, TRIAGE_OOD_SCORES), TRIAGE_OK) << triage_last_error(h.m);
      out.push_back({s[0], s[1], s[2], rs[static_cast<size_t>(i)].route, rs[static_cast<size_t>(i)].unknown});
    }
  }
  return out;
}

// The definition of runtime/router.h input_stats, written out independently.
void reference_stats(const TestImage& t, double max_value, double& mean, double& sd) {
  const uint32_t gh = std::min<uint32_t>(t.height, 64), gw = std::min<uint32_t>(t.width, 64);
  double s = 0, s2 = 0, n = 0;
  for (uint32_t i = 0; i < gh; ++i)
    for (uint32_t j = 0; j < gw; ++j) {
      const uint32_t y = static_cast<uint32_t>((i + 0.5) * t.height / gh), x = static_cast<uint32_t>((j + 0.5) * t.width / gw);
      for (uint32_t k = 0; k < t.channels; ++k) {
        const auto* row = reinterpret_cast<const uint8_t*>(t.storage.data()) + y * t.row_stride;
        const size_t at = static_cast<size_t>(x) * t.channels + k;
        const double v = (t.pixel == TRIAGE_PIXEL_U16 ? reinterpret_cast<const uint16_t*>(row)[at] : row[at]) / max_value;
        s += v, s2 += v * v, n += 1;
      }
    }
  mean = s / n;
  sd = std::sqrt(std::max(0.0, s2 / n - mean * mean));
}

TEST(Ood, ResultStructKeepsItsSize) {
  // `unknown` took the tail padding: callers built against the older header see the same layout.
  if (sizeof(void*) == 8) {
    EXPECT_EQ(sizeof(triage_result), 56u);
    EXPECT_EQ(offsetof(triage_result, unknown), 52u);
  }
}

TEST(Ood, InputStatisticsFollowTheirDefinition) {
  const std::vector<uint8_t> bytes = make_random_model(spec());
  const std::vector<Scores> got = run(bytes);
  for (int i = 0; i < kImages; ++i) {
    const TestImage t = image(i);
    double mean = 0, sd = 0;
    reference_stats(t, t.pixel == TRIAGE_PIXEL_U16 ? 65535.0 : 255.0, mean, sd);
    EXPECT_NEAR(got[static_cast<size_t>(i)].mean, mean, 1e-6) << i;
    EXPECT_NEAR(got[static_cast<size_t>(i)].std, sd, 1e-6) << i;
    EXPECT_GT(sd, 0.1) << "random images have spread";
  }
  // Larger than the 64 x 64 grid, three channels, padded rows: the same definition.
  RandomModelSpec s3 = spec();
  s3.C = 3;
  const std::vector<uint8_t> b3 = make_random_model(s3);
  Handle h;
  triage_options o = options();
  ASSERT_EQ(triage_open_memory(b3.data(), b3.size(), &o, &h.m), TRIAGE_OK) << triage_open_error();
  TestImage t = make_random_image(77, 150, 97, 3, false);
  TestImage padded = t;
  padded.row_stride = t.row_stride + 13;
  padded.storage.assign((padded.row_stride * t.height + 1) / 2 + 1, 0);
  for (uint32_t y = 0; y < t.height; ++y)
    std::memcpy(reinterpret_cast<uint8_t*>(padded.storage.data()) + y * padded.row_stride,
                reinterpret_cast<const uint8_t*>(t.storage.data()) + y * t.row_stride, t.row_stride);
  for (const TestImage* x : {&t, &padded}) {
    const triage_image v = view(*x);
    triage_result r{};
    ASSERT_EQ(triage_classify(h.m, &v, &r), TRIAGE_OK) << triage_last_error(h.m);
    float sc[TRIAGE_OOD_SCORES];
    ASSERT_EQ(triage_get_ood_scores(h.m, 0, sc, TRIAGE_OOD_SCORES), TRIAGE_OK);
    double mean = 0, sd = 0;
    reference_stats(*x, 255.0, mean, sd);
    EXPECT_NEAR(sc[1], mean, 1e-6);
    EXPECT_NEAR(sc[2], sd, 1e-6);
  }
}

TEST(Ood, ScoresAreDeterministicAcrossThreadsAndBatches) {
  const std::vector<uint8_t> bytes = make_random_model(spec());
  const std::vector<Scores> a = run(bytes, 1, 1), b = run(bytes, 3, 5), c = run(bytes, 2, 32);
  for (size_t i = 0; i < a.size(); ++i)
    for (const std::vector<Scores>* o : {&b, &c}) {
      EXPECT_EQ(std::memcmp(&a[i].energy, &(*o)[i].energy, sizeof(float)), 0) << i;
      EXPECT_EQ(a[i].route, (*o)[i].route) << i;
      EXPECT_EQ(a[i].unknown, 0u) << "no OOD keys: never unknown";
    }
  // The energy is -log(sum exp(logits)) <= -max logit: a finite number, different across images.
  float lo = a[0].energy, hi = a[0].energy;
  for (const Scores& s : a) {
    EXPECT_TRUE(std::isfinite(s.energy));
    lo = std::min(lo, s.energy), hi = std::max(hi, s.energy);
  }
  EXPECT_LT(lo, hi);
}

TEST(Ood, UnknownIsExactlyTheRule) {
  for (const char* dtype : {"q8", "f32"}) {
    const std::vector<uint8_t> plain = make_random_model(spec(dtype));
    const std::vector<Scores> base = run(plain);
    // Thresholds inside the observed ranges: some images flagged by each test, some not at all.
    std::vector<float> ec, ef, m, d;
    for (const Scores& s : base) {
      (s.route == TRIAGE_ROUTE_FINE ? ef : ec).push_back(s.energy);
      m.push_back(s.mean);
      d.push_back(s.std);
    }
    ASSERT_FALSE(ec.empty()) << dtype << ": some images must exit at the coarse pass";
    ASSERT_FALSE(ef.empty()) << dtype << ": some images must escalate";
    auto median = [](std::vector<float> v) { std::sort(v.begin(), v.end()); return static_cast<double>(v[v.size() / 2]); };
    std::sort(m.begin(), m.end());
    std::sort(d.begin(), d.end());
    RandomModelSpec s = spec(dtype);
    s.ood = {median(ec), median(ef), m[2], m[m.size() - 3], d[1], d[d.size() - 2]};
    const std::vector<uint8_t> bytes = make_random_model(s);
    const std::vector<Scores> got = run(bytes, 2, 4);
    int flagged = 0, by_input = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const Scores& g = got[i];
      ASSERT_EQ(g.route, base[i].route) << "OOD keys never change the route";
      const double e_th = g.route == TRIAGE_ROUTE_FINE ? s.ood[1] : s.ood[0];
      const bool input_out = g.mean < s.ood[2] || g.mean > s.ood[3] || g.std < s.ood[4] || g.std > s.ood[5];
      const bool want = g.energy > e_th || input_out;
      EXPECT_EQ(g.unknown, want ? 1u : 0u) << dtype << " image " << i;
      flagged += want;
      by_input += input_out && !(g.energy > e_th);
    }
    EXPECT_GT(flagged, 0);
    EXPECT_LT(flagged, kImages);
    EXPECT_GT(by_input, 0) << "the input range must flag on its own";
    Handle h;
    triage_options o = options();
    ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &h.m), TRIAGE_OK);
    triage_model_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(triage_get_info(h.m, &info), TRIAGE_OK);
    EXPECT_EQ(info.ood_enabled, 1u);
    EXPECT_EQ(info.ood_coarse_threshold, s.ood[0]);
    EXPECT_EQ(info.ood_fine_threshold, s.ood[1]);
    EXPECT_EQ(info.ood_input_std_hi, s.ood[5]);
    EXPECT_EQ(info.ood_false_flag_rate, 0.01);
  }
}

TEST(Ood, KeysCheckedAtOpen) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Bad {
    const char* what;
    std::vector<double> ood;
    std::vector<std::pair<std::string, double>> f64;
    const char* says;
  };
  const Bad bad[] = {
      {"only the coarse threshold", {}, {{"router.ood_coarse_threshold", -2.0}}, "router.ood_"},
      {"five of six", {}, {{"router.ood_coarse_threshold", -2}, {"router.ood_fine_threshold", -2},
                           {"router.ood_input_mean_lo", 0}, {"router.ood_input_mean_hi", 1}, {"router.ood_input_std_lo", 0}},
       "router.ood_"},
      {"NaN energy", {nan, -2, 0, 1, 0, 1}, {}, "router.ood_coarse_threshold"},
      {"huge", {-2, 2e7, 0, 1, 0, 1}, {}, "router.ood_fine_threshold"},
      {"mean range upside down", {-2, -2, 0.7, 0.3, 0, 1}, {}, "_lo is above"},
      {"false-flag rate above 1", {-2, -2, 0, 1, 0, 1}, {{"router.ood_false_flag_rate", 1.5}}, "router.ood_false_flag_rate"},
  };
  for (const Bad& b : bad) {
    RandomModelSpec s = spec();
    s.ood = b.ood;
    s.meta_f64 = b.f64;
    const std::vector<uint8_t> bytes = make_random_model(s);
    Handle h;
    triage_options o = options();
    EXPECT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &h.m), TRIAGE_E_FORMAT) << b.what;
    EXPECT_EQ(h.m, nullptr);
    EXPECT_NE(std::strstr(triage_open_error(), b.says), nullptr) << b.what << ": " << triage_open_error();
  }
  RandomModelSpec ok = spec();
  ok.ood = {-1e6, 1e6, -1e6, 1e6, 0, 0};  // the edges: accepted
  const std::vector<uint8_t> bytes = make_random_model(ok);
  Handle h;
  triage_options o = options();
  EXPECT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &h.m), TRIAGE_OK) << triage_open_error();
}

TEST(Ood, ScoresCallRefusesMisuse) {
  const std::vector<uint8_t> bytes = make_random_model(spec());
  Handle h;
  triage_options o = options(1, 2);
  ASSERT_EQ(triage_open_memory(bytes.data(), bytes.size(), &o, &h.m), TRIAGE_OK);
  float s[TRIAGE_OOD_SCORES];
  EXPECT_EQ(triage_get_ood_scores(h.m, 0, s, TRIAGE_OOD_SCORES), TRIAGE_E_INVALID_ARGUMENT) << "nothing classified yet";
  const TestImage t = image(0);
  const triage_image v = view(t);
  triage_result r{};
  ASSERT_EQ(triage_classify(h.m, &v, &r), TRIAGE_OK);
  EXPECT_EQ(triage_get_ood_scores(h.m, 0, s, TRIAGE_OOD_SCORES), TRIAGE_OK);
  EXPECT_EQ(triage_get_ood_scores(h.m, 1, s, TRIAGE_OOD_SCORES), TRIAGE_E_INVALID_ARGUMENT) << "one image classified";
  EXPECT_EQ(triage_get_ood_scores(h.m, 0, s, 2), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_get_ood_scores(h.m, 0, nullptr, TRIAGE_OOD_SCORES), TRIAGE_E_INVALID_ARGUMENT);
  EXPECT_EQ(triage_get_ood_scores(nullptr, 0, s, TRIAGE_OOD_SCORES), TRIAGE_E_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace triage::test
