// Synthetic score tables for the calibration tests: three defect classes a, b, c, no good class, n
// images with zero probabilities and label 0 until a test sets them.
#pragma once

#include <cstddef>

#include "tools/calibrate/score_table.h"

namespace triage::calib {

inline ScoreTable three_class_table(size_t n) {
  ScoreTable t;
  t.ncls = 3;
  t.good = -1;
  t.class_names = {"a", "b", "c"};
  t.label.assign(n, 0);
  t.coarse.assign(n * 3, 0.f);
  t.fine.assign(n * 3, 0.f);
  return t;
}

}  // namespace triage::calib
