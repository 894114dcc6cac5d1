// Liveness-based placement of activation buffers in one arena: buffers whose lifetimes (step ranges)
// do not overlap may share bytes. The plan is computed once, at load, and is deterministic; it works
// in fixed arrays (no allocation).
#pragma once

#include <cstddef>
#include <span>

namespace triage::rt {

inline constexpr size_t kArenaAlign = 64;
inline constexpr size_t kMaxArenaBuffers = 64;  // the engine asks for a few dozen

struct BufferReq {
  size_t bytes = 0;  // 0: the buffer is not needed (offset 0, no space)
  int first = 0;     // first step that writes or reads it
  int last = 0;      // last step that reads it (inclusive)
};

struct ArenaPlan {
  size_t offsets[kMaxArenaBuffers] = {};  // one per request, kArenaAlign-aligned
  size_t total = 0;                       // arena bytes (a multiple of kArenaAlign)
};

// Greedy: largest buffers first, each at the lowest aligned offset that does not collide with an
// already placed buffer whose lifetime overlaps. false on size overflow or more than kMaxArenaBuffers
// requests.
bool plan_arena(std::span<const BufferReq> reqs, ArenaPlan& out);

}  // namespace triage::rt
