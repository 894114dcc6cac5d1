// Gaussian class clusters with fixed seeds: k centres drawn at distance `sep` scale, n rows per class.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "tools/adapt/softmax_regression.h"

namespace triage::test {

struct Clusters {
  int n = 0, d = 0, k = 0;
  std::vector<float> x;
  std::vector<int> y, group;
};

inline Clusters make_clusters(int k, int per_class, int d, double sep, uint64_t seed, double offset = 3.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<double> centre(static_cast<size_t>(k) * d);
  std::mt19937_64 crng(12345);  // the same centres for every seed: train and test share the classes
  for (double& c : centre) c = sep * g(crng);
  Clusters c;
  c.n = k * per_class;
  c.d = d;
  c.k = k;
  for (int i = 0; i < per_class; ++i)
    for (int cls = 0; cls < k; ++cls) {
      for (int j = 0; j < d; ++j) c.x.push_back(static_cast<float>(offset + centre[static_cast<size_t>(cls) * d + j] + g(rng)));
      c.y.push_back(cls);
      c.group.push_back(static_cast<int>(c.group.size()));
    }
  return c;
}

inline adapt::Problem problem_of(const Clusters& c) {
  adapt::Problem p;
  p.n = c.n;
  p.d = c.d;
  p.k = c.k;
  p.x = c.x.data();
  p.y = c.y.data();
  return p;
}

}  // namespace triage::test
