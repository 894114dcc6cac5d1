// Arena placement (see arena_plan.h). O(n^2) in the number of buffers, which is a few dozen.
#include "runtime/arena_plan.h"

#include <algorithm>
#include <utility>

#include "runtime/checked.h"

namespace triage::rt {

bool plan_arena(std::span<const BufferReq> reqs, ArenaPlan& out) {
  const size_t n = reqs.size();
  if (n > kMaxArenaBuffers) return false;
  size_t size[kMaxArenaBuffers], order[kMaxArenaBuffers], placed[kMaxArenaBuffers];
  std::pair<size_t, size_t> busy[kMaxArenaBuffers];
  for (size_t i = 0; i < n; ++i) {
    if (!align_up_ok(reqs[i].bytes, kArenaAlign, size[i])) return false;
    order[i] = i;
  }
  // Largest first; ties by index, so the plan never depends on sort stability.
  std::sort(order, order + n, [&](size_t a, size_t b) { return size[a] != size[b] ? size[a] > size[b] : a < b; });

  out = ArenaPlan{};
  size_t n_placed = 0;
  for (size_t o = 0; o < n; ++o) {
    const size_t i = order[o];
    if (size[i] == 0) continue;
    // Intervals (in bytes) already taken by buffers alive at the same time, sorted by offset.
    size_t n_busy = 0;
    for (size_t q = 0; q < n_placed; ++q) {
      const size_t j = placed[q];
      if (reqs[j].first <= reqs[i].last && reqs[i].first <= reqs[j].last)
        busy[n_busy++] = {out.offsets[j], out.offsets[j] + size[j]};
    }
    std::sort(busy, busy + n_busy);
    size_t off = 0;
    for (size_t q = 0; q < n_busy; ++q) {
      const auto [b, e] = busy[q];
      size_t end;
      if (!add_ok(off, size[i], end)) return false;
      if (end <= b) break;  // fits in the gap before this interval
      off = std::max(off, e);
    }
    size_t end;
    if (!add_ok(off, size[i], end)) return false;
    out.offsets[i] = off;
    out.total = std::max(out.total, end);
    placed[n_placed++] = i;
  }
  return true;
}

}  // namespace triage::rt
