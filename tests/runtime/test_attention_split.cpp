// run_attention's query blocks (runtime/forward_ops.cpp, issue 19): one block per head at one thread
// (each block repeats the head's K transpose), equal task counts per thread where up to 4 blocks give
// them, blocks that tile [0, n) without gaps or empties, edges on multiples of 4. That the bits do not
// depend on the split is test_determinism's (threads 1-3) and the attention kernel test's (ranges).
#include <gtest/gtest.h>

#include "runtime/forward_ops.h"

namespace triage::rt {
namespace {

TEST(AttentionSplit, BlocksTileTheQueriesAndBalanceTheThreads) {
  for (int images : {1, 2, 3, 5, 8})
    for (int heads : {1, 3, 4})
      for (int threads : {1, 2, 3, 4})
        for (int n : {1, 2, 5, 17, 35, 50, 65, 86, 197, 300}) {
          const int qs = attention_query_blocks(images, heads, threads, n);
          SCOPED_TRACE(testing::Message() << "images " << images << " heads " << heads << " threads " << threads
                                          << " n " << n << " blocks " << qs);
          ASSERT_GE(qs, 1);
          if (threads == 1) {
            EXPECT_EQ(qs, 1);
          }
          int balanced = 0;  // the fewest blocks (up to 4, at least 4 queries each) that balance the threads
          for (int q = 4; q >= 1; --q)
            if (4 * q <= n && (images * heads * q) % threads == 0) balanced = q;
          if (threads > 1 && balanced) {
            EXPECT_EQ(qs, balanced);
          }
          EXPECT_EQ(query_block_start(n, qs, 0), 0);
          EXPECT_EQ(query_block_start(n, qs, qs), n);
          for (int j = 0; j < qs; ++j) {
            const int a = query_block_start(n, qs, j), b = query_block_start(n, qs, j + 1);
            EXPECT_LT(a, b) << "block " << j << " is empty";
            if (j > 0) {
              EXPECT_EQ(a % 4, 0) << "block " << j << " starts off a group of 4";
            }
          }
        }
  // The shapes of the shipped models at batch 1, two threads: two blocks of the three heads.
  EXPECT_EQ(attention_query_blocks(1, 3, 2, 50), 2);
  EXPECT_EQ(query_block_start(50, 2, 1), 24);
  EXPECT_EQ(attention_query_blocks(1, 3, 2, 86), 2);
  EXPECT_EQ(attention_query_blocks(2, 3, 2, 86), 1);
}

}  // namespace
}  // namespace triage::rt
