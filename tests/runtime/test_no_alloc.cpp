// Classifying never allocates: 1,000 classifications (single and batched, u8 and u16, varied image
// sizes, every route, worker threads on) after warm-up, with a malloc/new hook counting every thread.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/runtime/alloc_counter.h"
#include "tests/runtime/mixed_route.h"
#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

void check_no_alloc(const RandomModelSpec& spec, uint32_t force, int classifications) {
  std::vector<TestImage> imgs;
  for (int i = 0; i < 8; ++i) imgs.push_back(make_random_image(900 + i, 20 + 37 * i, 130 - 13 * i, spec.C, i % 3 == 1));
  const bool routed = force == TRIAGE_FORCE_NONE && spec.arch == "cfvit";
  const std::vector<uint8_t> model = routed ? mixed_route_model(spec, imgs) : make_random_model(spec);
  triage_options o = options(2, 4, force);
  triage_model* m = nullptr;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_OK) << triage_open_error();
  std::vector<triage_image> views;
  for (const TestImage& t : imgs) views.push_back(view(t));
  triage_result results[4];
  for (int i = 0; i < 8; ++i) ASSERT_EQ(triage_classify(m, &views[i], results), TRIAGE_OK);  // warm-up
  ASSERT_EQ(triage_classify_batch(m, views.data(), 4, results), TRIAGE_OK);
  // Error paths must not allocate either.
  triage_image bad = views[0];
  bad.width = 0;

  alloc_counting(true);
  int done = 0, failures = 0, fine = 0;
  for (int i = 0; done < classifications; ++i) {
    if (i % 5 == 4) {
      failures += triage_classify_batch(m, views.data() + (i % 5), 4, results) != TRIAGE_OK;
      for (int j = 0; j < 4; ++j) fine += results[j].route == TRIAGE_ROUTE_FINE;
      done += 4;
    } else {
      failures += triage_classify(m, &views[i % 8], results) != TRIAGE_OK;
      fine += results[0].route == TRIAGE_ROUTE_FINE;
      done += 1;
    }
    if (i % 100 == 0) failures += triage_classify(m, &bad, results) == TRIAGE_OK;
  }
  alloc_counting(false);
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(alloc_count(), 0u) << "heap allocations during " << done << " classifications";
  if (routed) {
    EXPECT_GT(fine, 0);
    EXPECT_LT(fine, done);
  }
  triage_close(m);
}

TEST(NoAlloc, CfvitF32Routed) {
  check_no_alloc(RandomModelSpec{}, TRIAGE_FORCE_NONE, 1000);  // thresholds mix exits and escalations
}

TEST(NoAlloc, CfvitQ8FineAll) {
  RandomModelSpec s;
  s.dtype = "q8";
  check_no_alloc(s, TRIAGE_FORCE_FINE_ALL, 1000);
}

TEST(NoAlloc, CfvitQ8TokenSkipping) {
  RandomModelSpec s;
  s.dtype = "q8";
  s.meta_i64 = {{"arch.keep_coarse", 5}, {"arch.skip_layer", 1}, {"arch.keep_fine", 1}};
  check_no_alloc(s, TRIAGE_FORCE_NONE, 1000);
}

TEST(NoAlloc, VitQ8) {
  RandomModelSpec s;
  s.arch = "vit";
  s.dtype = "q8";
  s.Sf = 32;
  check_no_alloc(s, TRIAGE_FORCE_NONE, 1000);
}

TEST(NoAlloc, CounterSeesAllocations) {
  alloc_counting(true);
  void* volatile a = std::malloc(10);  // volatile: the allocations cannot be elided
  int* volatile b = new int[4];
  alloc_counting(false);
  std::free(a);
  delete[] b;
  EXPECT_EQ(alloc_count(), 2u);
}

}  // namespace
}  // namespace triage::test
