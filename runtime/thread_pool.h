// A fixed pool of worker threads with static work partitioning: run(n, fn) splits tasks [0, n) into
// `threads` contiguous chunks, chunk t on thread t (thread 0 is the caller). Which thread computes a
// task never changes the result (the kernels guarantee split-independent outputs), and dispatching
// never allocates. Workers spin briefly between dispatches (a forward pass issues many back to back),
// then sleep on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/error.h"

namespace triage::rt {

class ThreadPool {
 public:
  using Fn = void (*)(void* ctx, int task_begin, int task_end, int thread);

  ThreadPool() = default;
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Starts threads - 1 workers. false + err when a thread cannot be created.
  bool start(int threads, Error& err);
  int threads() const { return threads_; }

  // Runs fn over [0, n_tasks) and returns when every chunk is done.
  void run(int n_tasks, Fn fn, void* ctx);

  // Convenience for a callable f(task_begin, task_end, thread) (no allocation: f is passed by address).
  template <typename F>
  void run(int n_tasks, F& f) {
    run(n_tasks, [](void* c, int b, int e, int t) { (*static_cast<F*>(c))(b, e, t); }, &f);
  }

 private:
  void worker(int t, unsigned seen);
  void run_chunk(int t);
  void stop();

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<unsigned> gen_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // The current job (written before gen_ is bumped).
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  int n_tasks_ = 0;
};

}  // namespace triage::rt
