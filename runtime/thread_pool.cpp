// Thread pool (see thread_pool.h). The wake-up protocol: the caller bumps gen_ then, only if a worker
// announced it may sleep (sleepers_), notifies under the mutex; a worker announces itself before
// re-checking gen_ under the mutex, so no wake-up is lost (both sides use seq_cst).
#include "runtime/thread_pool.h"

#include <immintrin.h>

#include <system_error>

namespace triage::rt {
namespace {
constexpr int kSpinIters = 1 << 15;  // ~100 us of pause instructions before sleeping
inline void cpu_relax() { _mm_pause(); }
}  // namespace

ThreadPool::~ThreadPool() { stop(); }

bool ThreadPool::start(int threads, Error& err) {
  stop();
  threads_ = threads < 1 ? 1 : threads;
  stop_.store(false);
  try {
    workers_.reserve(threads_ - 1);
    // Workers start from the generation current now, so a run() issued before they are scheduled is
    // not missed.
    const unsigned g0 = gen_.load();
    for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t, g0] { worker(t, g0); });
  } catch (const std::exception& e) {
    stop();
    return err.set(TRIAGE_E_NOMEM, "cannot start %d worker threads: %s", threads - 1, e.what());
  }
  return true;
}

void ThreadPool::stop() {
  if (workers_.empty()) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
    gen_.fetch_add(1);
  }
  cv_.notify_all();
  for (std::thread& w : workers_) w.join();
  workers_.clear();
  threads_ = 1;
}

void ThreadPool::run_chunk(int t) {
  const long n = n_tasks_, T = threads_;
  const int b = static_cast<int>(n * t / T), e = static_cast<int>(n * (t + 1) / T);
  if (b < e) fn_(ctx_, b, e, t);
}

void ThreadPool::run(int n_tasks, Fn fn, void* ctx) {
  if (n_tasks <= 0) return;
  if (threads_ == 1 || n_tasks == 1) {
    fn(ctx, 0, n_tasks, 0);
    return;
  }
  fn_ = fn;
  ctx_ = ctx;
  n_tasks_ = n_tasks;
  pending_.store(threads_ - 1);
  gen_.fetch_add(1);
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lk(mu_); }
    cv_.notify_all();
  }
  run_chunk(0);
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
    if (i < kSpinIters) cpu_relax();
    else std::this_thread::yield();
  }
}

void ThreadPool::worker(int t, unsigned seen) {
  for (;;) {
    int i = 0;
    while (gen_.load(std::memory_order_acquire) == seen && i < kSpinIters) {
      cpu_relax();
      ++i;
    }
    if (gen_.load(std::memory_order_acquire) == seen) {
      sleepers_.fetch_add(1);
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return gen_.load() != seen; });
      lk.unlock();
      sleepers_.fetch_sub(1);
    }
    seen = gen_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    run_chunk(t);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace triage::rt
