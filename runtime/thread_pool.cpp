// Thread pool (see thread_pool.h).
// Claim protocol: a thread claims chunk c of generation g by a CAS of the job word from
// (g, chunks, c) to (g, chunks, c + 1). A successful claim proves job g is still running (the caller
// waits for every chunk), and the CAS (acquire) synchronises with the caller's publishing store
// (release), so fn_/ctx_/n_tasks_ read afterwards are job g's.
// Wake-up protocol: the caller publishes, then notifies under the mutex only if a worker announced
// it may sleep (sleepers_); a worker announces itself before re-checking the job word under the
// mutex, so no wake-up is lost (seq_cst on both sides).
#include "runtime/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace triage::rt {
namespace {
constexpr int kSpinIters = 1 << 14;
#if defined(__x86_64__) || defined(__i386__)
inline void cpu_relax() { _mm_pause(); }
#elif defined(__aarch64__)
inline void cpu_relax() { __asm__ volatile("yield"); }
#else
inline void cpu_relax() {}
#endif
static_assert(TRIAGE_MAX_THREADS <= ThreadPool::kCountMask, "chunk counts must fit the job word");
}  // namespace

ThreadPool::~ThreadPool() { stop(); }

bool ThreadPool::start(int threads, Error& err, triage_run_tasks_fn external, void* external_ctx) {
  stop();
  threads_ = threads < 1 ? 1 : threads;
  stop_.store(false);
  external_ = external;
  external_ctx_ = external_ctx;
  if (external_) return true;
  for (int t = 1; t < threads_; ++t) {
    worker_args_[n_workers_] = WorkerArg{this, t};
    const int rc = pthread_create(&workers_[n_workers_], nullptr, worker_main, &worker_args_[n_workers_]);
    if (rc != 0) {
      stop();
      return err.set(TRIAGE_E_NOMEM, "cannot start worker thread %d of %d (pthread_create: error %d)", t, threads - 1, rc);
    }
    ++n_workers_;
  }
  return true;
}

void* ThreadPool::worker_main(void* arg) {
  const WorkerArg& a = *static_cast<const WorkerArg*>(arg);
  a.pool->worker(a.t);
  return nullptr;
}

void ThreadPool::stop() {
  external_ = nullptr;
  external_ctx_ = nullptr;
  if (n_workers_ == 0) {
    threads_ = 1;
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
    job_.store(word(++gen_, 0, 0));
  }
  cv_.notify_all();
  for (int k = 0; k < n_workers_; ++k) pthread_join(workers_[k], nullptr);
  n_workers_ = 0;
  threads_ = 1;
}

void ThreadPool::claim_chunks(uint64_t gen, int t) {
  uint64_t w = job_.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t chunks = chunks_of(w), next = next_of(w);
    if (gen_of(w) != gen || next >= chunks) return;
    if (!job_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    const long n = n_tasks_;
    const int b = static_cast<int>(n * next / chunks), e = static_cast<int>(n * (next + 1) / chunks);
    fn_(ctx_, b, e, t);
    done_.fetch_add(1, std::memory_order_acq_rel);
    w = job_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(int n_tasks, Fn fn, void* ctx) {
  if (n_tasks <= 0) return;
  if (threads_ == 1 || n_tasks == 1) {
    fn(ctx, 0, n_tasks, 0);
    return;
  }
  const int chunks = n_tasks < threads_ ? n_tasks : threads_;
  if (external_) return run_external(n_tasks, chunks, fn, ctx);
  fn_ = fn;
  ctx_ = ctx;
  n_tasks_ = n_tasks;
  done_.store(0, std::memory_order_relaxed);
  const uint64_t gen = ++gen_ & kGenMask;
  job_.store(word(gen, static_cast<uint32_t>(chunks), 0));
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lk(mu_); }
    cv_.notify_all();
  }
  claim_chunks(gen, 0);
  for (int i = 0; done_.load(std::memory_order_acquire) != chunks; ++i) {
    if (i < kSpinIters) cpu_relax();
    else std::this_thread::yield();
  }
}

void ThreadPool::run_external(int n_tasks, int chunks, Fn fn, void* ctx) {
  // Chunk i covers the same tasks as the built-in pool's chunk i and runs with thread id i.
  struct Job {
    Fn fn;
    void* ctx;
    long n;
    uint32_t chunks;
  } job{fn, ctx, n_tasks, static_cast<uint32_t>(chunks)};
  external_(external_ctx_, job.chunks, [](void* c, uint32_t i) {
    const Job& j = *static_cast<const Job*>(c);
    if (i >= j.chunks) return;  // a runner that breaks the contract gets no out-of-range work
    j.fn(j.ctx, static_cast<int>(j.n * i / j.chunks), static_cast<int>(j.n * (i + 1) / j.chunks), static_cast<int>(i));
  }, &job);
}

void ThreadPool::worker(int t) {
  uint64_t seen = 0;  // generations start at 1
  for (;;) {
    int i = 0;
    while (gen_of(job_.load(std::memory_order_acquire)) == seen && i < kSpinIters) {
      cpu_relax();
      ++i;
    }
    if (gen_of(job_.load(std::memory_order_acquire)) == seen) {
      sleepers_.fetch_add(1);
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return gen_of(job_.load()) != seen; });
      lk.unlock();
      sleepers_.fetch_sub(1);
    }
    seen = gen_of(job_.load(std::memory_order_acquire));
    if (stop_.load()) return;
    claim_chunks(seen, t);
  }
}

}  // namespace triage::rt
