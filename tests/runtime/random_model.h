// Random models of the family, written as .trw bytes in memory with trw::Writer (fixed seeds), so the
// engine tests need no Python and no shipped model.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace triage::test {

struct RandomModelSpec {
  std::string arch = "cfvit";  // or "vit"
  std::string dtype = "f32";   // f32 | f16 | bf16 | q8 (q8: the linear layers; the rest f32)
  int C = 1, Sf = 64, P = 8, c1 = 8, c2 = 16, D = 64, H = 4, L = 3, mlp_ratio = 4, Dr = 48, K = 4, R = 2;
  int ncls = 5, good = 0;  // good -1: no good class
  double coarse_good = 0.5, coarse_defect = 0.6, fine_good = 0.5, review = 0.6;
  int64_t calibrated = 0;  // router.calibrated
  std::vector<double> class_review;  // router.class_review_thresholds when not empty
  double max_u8 = 255, max_u16 = 65535, mean = 0.5, std = 0.25;
  uint64_t seed = 1;
  // For malformed-model tests: a tensor to leave out, and metadata integers to overwrite.
  std::string drop_tensor;
  std::vector<std::pair<std::string, int64_t>> meta_i64;
  // OOD thresholds: written (router.ood_*, rt::kOodKeys order, + router.ood_false_flag_rate) when not empty;
  // meta_f64 then overwrites or adds any float key (malformed-model tests).
  std::vector<double> ood;
  std::vector<std::pair<std::string, double>> meta_f64;
};

std::vector<uint8_t> make_random_model(const RandomModelSpec& spec);

// Random images (u8 or u16, C channels) with fixed seeds, tightly packed rows.
struct TestImage {
  std::vector<uint16_t> storage;
  uint32_t pixel = 1, height = 0, width = 0, channels = 1;
  size_t row_stride = 0;
};
TestImage make_random_image(uint64_t seed, uint32_t h, uint32_t w, uint32_t c, bool u16);

}  // namespace triage::test
