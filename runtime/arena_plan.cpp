// Arena placement (see arena_plan.h). O(n^2) in the number of buffers, which is a few dozen.
#include "runtime/arena_plan.h"

#include <algorithm>
#include <numeric>

#include "runtime/checked.h"

namespace triage::rt {

bool plan_arena(const std::vector<BufferReq>& reqs, ArenaPlan& out) {
  const size_t n = reqs.size();
  std::vector<size_t> size(n);
  for (size_t i = 0; i < n; ++i)
    if (!align_up_ok(reqs[i].bytes, kArenaAlign, size[i])) return false;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by index, so the plan never depends on sort stability.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return size[a] != size[b] ? size[a] > size[b] : a < b; });

  out.offsets.assign(n, 0);
  out.total = 0;
  std::vector<size_t> placed;
  for (size_t i : order) {
    if (size[i] == 0) continue;
    // Intervals (in bytes) already taken by buffers alive at the same time, sorted by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t j : placed)
      if (reqs[j].first <= reqs[i].last && reqs[i].first <= reqs[j].last)
        busy.emplace_back(out.offsets[j], out.offsets[j] + size[j]);
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (const auto& [b, e] : busy) {
      size_t end;
      if (!add_ok(off, size[i], end)) return false;
      if (end <= b) break;  // fits in the gap before this interval
      off = std::max(off, e);
    }
    size_t end;
    if (!add_ok(off, size[i], end)) return false;
    out.offsets[i] = off;
    out.total = std::max(out.total, end);
    placed.push_back(i);
  }
  return true;
}

}  // namespace triage::rt
