// Caller-provided threads (issue 14, triage_options.run_tasks): with a runner set, the handle creates no
// thread, every parallel step goes through the runner with 2 <= n <= threads, and the results are the
// built-in pool's bits whatever the schedule (in order, reversed, concurrent on fresh threads); an options
// struct of the V3 layout never reads the new fields.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "tests/runtime/test_util.h"

namespace triage::test {
namespace {

struct Runner {
  enum Schedule { InOrder, Reversed, Concurrent } schedule = InOrder;
  std::atomic<int> calls{0};
  std::atomic<uint32_t> max_n{0}, min_n{~0u};
  std::atomic<int> bad_thread{0};
  std::thread::id caller;
};

void run_tasks(void* ctx, uint32_t n, triage_task_fn task, void* task_ctx) {
  Runner& r = *static_cast<Runner*>(ctx);
  if (std::this_thread::get_id() != r.caller) r.bad_thread.fetch_add(1);
  r.calls.fetch_add(1);
  for (uint32_t m = r.max_n.load(); n > m && !r.max_n.compare_exchange_weak(m, n);) {}
  for (uint32_t m = r.min_n.load(); n < m && !r.min_n.compare_exchange_weak(m, n);) {}
  switch (r.schedule) {
    case Runner::InOrder:
      for (uint32_t i = 0; i < n; ++i) task(task_ctx, i);
      break;
    case Runner::Reversed:
      for (uint32_t i = n; i-- > 0;) task(task_ctx, i);
      break;
    case Runner::Concurrent: {
      // Every share on its own thread, the caller's thread only waiting: the most hostile schedule.
      std::vector<std::thread> ts;
      for (uint32_t i = 0; i < n; ++i) ts.emplace_back([=] { task(task_ctx, i); });
      for (std::thread& t : ts) t.join();
      break;
    }
  }
}

// Probabilities and routes of a batch, as bits.
std::vector<float> classify(triage_model* m, const std::vector<TestImage>& imgs, int ncls) {
  std::vector<triage_image> views;
  for (const TestImage& t : imgs) views.push_back(view(t));
  std::vector<triage_result> res(imgs.size());
  EXPECT_EQ(triage_classify_batch(m, views.data(), views.size(), res.data()), TRIAGE_OK) << triage_last_error(m);
  std::vector<float> out;
  for (const triage_result& r : res) {
    out.insert(out.end(), r.probabilities, r.probabilities + ncls);
    out.push_back(static_cast<float>(r.route));
    out.push_back(static_cast<float>(r.class_index));
  }
  return out;
}

// Threads of this process (Linux /proc), -1 where that cannot be read.
int process_threads() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec); !ec && it != std::filesystem::end(it);
       it.increment(ec))
    ++n;
  return ec ? -1 : n;
}

// The thread count once it has settled at `want` (or after 2 s, whatever it is then). A joined thread can
// stay listed in /proc/self/task for a moment after pthread_join returns (the kernel clears the joined
// tid before the task is reaped; under qemu-user the host thread exits later still): a count taken right
// after close may be one high without any thread left running. It cannot settle at `want` falsely.
int threads_settled_at(int want) {
  int n = process_threads();
  for (int i = 0; i < 200 && n != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    n = process_threads();
  }
  return n;
}

std::vector<TestImage> images(int n) {
  std::vector<TestImage> imgs;
  for (int i = 0; i < n; ++i) imgs.push_back(make_random_image(90 + i, 50 + 13 * i, 80 - 7 * i, 1, i % 3 == 2));
  return imgs;
}

TEST(CallerThreads, SameBitsAsTheBuiltInPoolUnderAnySchedule) {
  const std::vector<TestImage> imgs = images(5);
  for (const char* dtype : {"q8", "f32"}) {
    RandomModelSpec spec;
    spec.dtype = dtype;
    const std::vector<uint8_t> model = make_random_model(spec);
    for (uint32_t threads : {2u, 3u, 4u}) {
      for (uint32_t force : {uint32_t(TRIAGE_FORCE_NONE), uint32_t(TRIAGE_FORCE_FINE_ALL)}) {
        triage_options o = options(threads, 5, force);
        triage_model* pool = nullptr;
        ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &pool), TRIAGE_OK) << triage_open_error();
        const std::vector<float> want = classify(pool, imgs, spec.ncls);
        triage_close(pool);
        for (Runner::Schedule s : {Runner::InOrder, Runner::Reversed, Runner::Concurrent}) {
          Runner r;
          r.schedule = s;
          r.caller = std::this_thread::get_id();
          triage_options oc = o;
          oc.run_tasks = run_tasks;
          oc.run_tasks_ctx = &r;
          triage_model* m = nullptr;
          ASSERT_EQ(triage_open_memory(model.data(), model.size(), &oc, &m), TRIAGE_OK) << triage_open_error();
          const std::vector<float> got = classify(m, imgs, spec.ncls);
          ASSERT_EQ(got.size(), want.size());
          EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
              << dtype << " threads " << threads << " force " << force << " schedule " << s;
          EXPECT_GT(r.calls.load(), 0) << "the runner was never asked";
          EXPECT_GE(r.min_n.load(), 2u);
          EXPECT_LE(r.max_n.load(), threads);
          EXPECT_EQ(r.bad_thread.load(), 0) << "run_tasks is called from the classifying thread";
          triage_close(m);
        }
      }
    }
  }
}

TEST(CallerThreads, TheHandleCreatesNoThread) {
  if (process_threads() < 0) GTEST_SKIP() << "/proc/self/task is not readable here";
  RandomModelSpec spec;
  spec.dtype = "q8";
  const std::vector<uint8_t> model = make_random_model(spec);
  const int before = process_threads();
  // The check can fail: the built-in pool of 4 threads starts 3 workers.
  triage_options o = options(4, 2);
  triage_model* pool = nullptr;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &pool), TRIAGE_OK);
  EXPECT_EQ(process_threads(), before + 3);
  triage_close(pool);
  EXPECT_EQ(threads_settled_at(before), before);

  Runner r;
  r.caller = std::this_thread::get_id();
  o.run_tasks = run_tasks;
  o.run_tasks_ctx = &r;
  triage_model* m = nullptr;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_OK);
  EXPECT_EQ(process_threads(), before);
  const std::vector<TestImage> imgs = images(2);
  classify(m, imgs, spec.ncls);
  EXPECT_EQ(process_threads(), before);
  EXPECT_GT(r.calls.load(), 0);
  triage_close(m);
}

TEST(CallerThreads, AnOptionsStructOfTheV3LayoutNeverReadsTheRunner) {
  RandomModelSpec spec;
  spec.dtype = "q8";
  const std::vector<uint8_t> model = make_random_model(spec);
  // A V3 caller's struct followed by bytes that would be a runner if they were read.
  Runner r;
  r.caller = std::this_thread::get_id();
  triage_options o = options(2, 2);
  o.run_tasks = run_tasks;
  o.run_tasks_ctx = &r;
  o.struct_size = TRIAGE_OPTIONS_SIZE_V3;
  triage_model* m = nullptr;
  ASSERT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_OK) << triage_open_error();
  const std::vector<TestImage> imgs = images(2);
  classify(m, imgs, spec.ncls);
  EXPECT_EQ(r.calls.load(), 0) << "the V3 layout has no run_tasks: the built-in pool must run";
  triage_close(m);
  o.struct_size = TRIAGE_OPTIONS_SIZE_V3 + 8;  // not a published size
  EXPECT_EQ(triage_open_memory(model.data(), model.size(), &o, &m), TRIAGE_E_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace triage::test
