// A fixed pool of worker threads. run(n, fn) splits tasks [0, n) into min(n, threads) contiguous
// chunks that the caller and the workers claim from a shared counter; the chunk boundaries depend
// only on n and the thread count, and the kernels make every output independent of how work is
// split, so results never depend on which thread ran what. Claiming (rather than assigning chunk t
// to thread t) means a worker that the OS has not scheduled yet never stalls the caller: it simply
// runs the chunk itself. Workers are POSIX threads in fixed storage: starting them allocates nothing
// of the heap's and a failure is a status, never an exception. Dispatching never allocates. Workers spin briefly between dispatches (a
// forward pass issues many back to back), then sleep on a condition variable.
// Caller threads (triage_options.run_tasks): start() with an external runner creates no worker; run()
// hands the same chunks, as indices, to the caller's runner, and each chunk runs with its index as the
// thread id (at most one chunk per index runs at a time, so per-thread scratch stays private).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include <pthread.h>

#include "runtime/error.h"
#include "runtime/triage.h"

namespace triage::rt {

class ThreadPool {
 public:
  using Fn = void (*)(void* ctx, int task_begin, int task_end, int thread);

  ThreadPool() = default;
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Starts threads - 1 workers, or none when external is set (its chunks then run on the caller's
  // threads through external, see triage_run_tasks_fn). false + err when a thread cannot be created.
  bool start(int threads, Error& err, triage_run_tasks_fn external = nullptr, void* external_ctx = nullptr);
  int threads() const { return threads_; }

  // Runs fn over [0, n_tasks) and returns when every chunk is done. fn gets the id (0..threads-1) of
  // the thread running the chunk, for per-thread scratch.
  void run(int n_tasks, Fn fn, void* ctx);

  // Convenience for a callable f(task_begin, task_end, thread) (no allocation: f is passed by address).
  template <typename F>
  void run(int n_tasks, F& f) {
    run(n_tasks, [](void* c, int b, int e, int t) { (*static_cast<F*>(c))(b, e, t); }, &f);
  }

 private:
  // The job word: generation (46 bits) | chunk count (9) | next unclaimed chunk (9). A claim CAS that
  // a stalled thread issues with a stale word must fail, so the word may not repeat while a thread can
  // still hold an old copy: with 32 generation bits it repeated after 2^32 dispatches (ABA: about an
  // hour of back-to-back small passes); 2^46 is years of dispatches at a million per second.
 public:
  static constexpr int kCountBits = 9;  // chunks <= threads <= TRIAGE_MAX_THREADS = 256 < 2^9
  static constexpr uint64_t kCountMask = (uint64_t(1) << kCountBits) - 1;
  static constexpr uint64_t kGenMask = (uint64_t(1) << (64 - 2 * kCountBits)) - 1;
  static constexpr uint64_t word(uint64_t gen, uint32_t chunks, uint32_t next) {
    return (gen & kGenMask) << (2 * kCountBits) | static_cast<uint64_t>(chunks) << kCountBits | next;
  }
  static constexpr uint64_t gen_of(uint64_t w) { return w >> (2 * kCountBits); }
  static constexpr uint32_t chunks_of(uint64_t w) { return static_cast<uint32_t>(w >> kCountBits & kCountMask); }
  static constexpr uint32_t next_of(uint64_t w) { return static_cast<uint32_t>(w & kCountMask); }

 private:
  void worker(int t);
  void claim_chunks(uint64_t gen, int t);
  void stop();
  void run_external(int n_tasks, int chunks, Fn fn, void* ctx);

  triage_run_tasks_fn external_ = nullptr;
  void* external_ctx_ = nullptr;

  int threads_ = 1;
  struct WorkerArg {
    ThreadPool* pool;
    int t;
  };
  static void* worker_main(void* arg);
  pthread_t workers_[TRIAGE_MAX_THREADS];
  WorkerArg worker_args_[TRIAGE_MAX_THREADS];
  int n_workers_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> job_{0};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  uint64_t gen_ = 0;  // caller side only (the word keeps its low 46 bits)
  // The current job, written before job_ publishes it.
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  int n_tasks_ = 0;
};

}  // namespace triage::rt
