// The liveness planner: buffers alive at the same time never overlap; disjoint lifetimes share bytes.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "runtime/arena_plan.h"

namespace triage::rt {
namespace {

TEST(ArenaPlan, DisjointLifetimesShare) {
  ArenaPlan p;
  const std::vector<BufferReq> r{{1000, 0, 1}, {1000, 2, 3}, {500, 1, 2}};
  ASSERT_TRUE(plan_arena(r, p));
  EXPECT_EQ(p.offsets[0], p.offsets[1]);  // same place, different times
  EXPECT_EQ(p.total, 1024u + 512u);
}

TEST(ArenaPlan, RandomPlansNeverOverlapLiveBuffers) {
  std::mt19937 rng(42);
  for (int iter = 0; iter < 200; ++iter) {
    std::vector<BufferReq> r(2 + rng() % 30);
    for (auto& b : r) {
      b.bytes = rng() % 5 == 0 ? 0 : 1 + rng() % 10000;
      b.first = static_cast<int>(rng() % 8);
      b.last = b.first + static_cast<int>(rng() % 4);
    }
    ArenaPlan p;
    ASSERT_TRUE(plan_arena(r, p));
    for (size_t i = 0; i < r.size(); ++i) {
      EXPECT_EQ(p.offsets[i] % kArenaAlign, 0u);
      EXPECT_LE(p.offsets[i] + r[i].bytes, p.total);
      for (size_t j = i + 1; j < r.size(); ++j) {
        if (!r[i].bytes || !r[j].bytes || r[i].last < r[j].first || r[j].last < r[i].first) continue;
        const bool apart = p.offsets[i] + r[i].bytes <= p.offsets[j] || p.offsets[j] + r[j].bytes <= p.offsets[i];
        EXPECT_TRUE(apart) << "buffers " << i << " and " << j << " overlap";
      }
    }
  }
}

TEST(ArenaPlan, OverflowIsAnError) {
  ArenaPlan p;
  EXPECT_FALSE(plan_arena(std::vector<BufferReq>{{SIZE_MAX - 10, 0, 0}}, p));
  EXPECT_FALSE(plan_arena(std::vector<BufferReq>{{SIZE_MAX / 2 + 64, 0, 0}, {SIZE_MAX / 2 + 64, 0, 0}}, p));
  EXPECT_FALSE(plan_arena(std::vector<BufferReq>(kMaxArenaBuffers + 1, BufferReq{64, 0, 0}), p)) << "more than the planner holds";
}

}  // namespace
}  // namespace triage::rt
