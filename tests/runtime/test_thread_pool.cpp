// The thread pool's job word and dispatch. Regression (issue 15): the generation was 32 bits, so the
// word repeated after 2^32 dispatches and a stalled claimer's stale CAS could succeed (ABA).
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "runtime/thread_pool.h"

namespace triage::rt {
namespace {

TEST(ThreadPool, JobWordKeepsGenerationsBeyond32Bits) {
  using P = ThreadPool;
  const uint64_t g = (uint64_t(1) << 32) + 5;
  const uint64_t w = P::word(g, TRIAGE_MAX_THREADS, TRIAGE_MAX_THREADS - 1);
  EXPECT_EQ(P::gen_of(w), g);
  EXPECT_EQ(P::chunks_of(w), TRIAGE_MAX_THREADS);
  EXPECT_EQ(P::next_of(w), TRIAGE_MAX_THREADS - 1);
  // Generations 2^32 apart (what a 32-bit counter confused) give different words.
  EXPECT_NE(P::word(5, 2, 1), P::word(g, 2, 1));
  // Incrementing next (the claim CAS does w + 1) never carries into the chunk count or generation.
  EXPECT_EQ(P::word(g, 256, 255) + 1, P::word(g, 256, 256));
  EXPECT_GE(64 - 2 * P::kCountBits, 46);
}

TEST(ThreadPool, EveryTaskRunsOnceOverManyDispatches) {
  ThreadPool pool;
  Error err;
  ASSERT_TRUE(pool.start(3, err));
  std::vector<std::atomic<int>> hits(37);
  for (int rep = 0; rep < 2000; ++rep) {
    const int n = 1 + rep % 37;
    auto f = [&](int b, int e, int t) {
      ASSERT_GE(t, 0);
      ASSERT_LT(t, 3);
      for (int i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
    };
    pool.run(n, f);
  }
  // task i runs in every dispatch with n > i: reps with (rep % 37) >= i
  for (int i = 0; i < 37; ++i) {
    int want = 0;
    for (int rep = 0; rep < 2000; ++rep) want += (1 + rep % 37) > i;
    EXPECT_EQ(hits[i].load(), want) << i;
  }
}

}  // namespace
}  // namespace triage::rt
