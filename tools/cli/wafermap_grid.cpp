// Die grid helpers of the wafer map readers (see wafermap_io.h): quarter turns, mirroring, and the
// grid as the model's input image, decimal fields.
#include <algorithm>
#include <cstring>

#include "tools/cli/image_common.h"
#include "tools/cli/wafermap_io.h"

namespace triage::cli {

bool parse_decimal(std::string_view s, uint32_t max, uint32_t& out) {
  if (s.empty() || s.size() > 9) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

void rotate_ccw(DieGrid& g, int quarter_turns) {
  const int q = ((quarter_turns % 4) + 4) % 4;
  for (int t = 0; t < q; ++t) {
    // One counter-clockwise quarter turn: (r, c) -> (cols - 1 - c, r).
    DieGrid n;
    n.rows = g.cols;
    n.cols = g.rows;
    n.die.assign(g.die.size(), kNoDie);
    for (uint32_t r = 0; r < g.rows; ++r)
      for (uint32_t c = 0; c < g.cols; ++c)
        n.die[size_t(g.cols - 1 - c) * n.cols + r] = g.die[size_t(r) * g.cols + c];
    g = std::move(n);
  }
}

void mirror_columns(DieGrid& g) {
  for (uint32_t r = 0; r < g.rows; ++r) {
    auto row = g.die.begin() + static_cast<std::ptrdiff_t>(size_t(r) * g.cols);
    std::reverse(row, row + g.cols);
  }
}

bool grid_to_image(const DieGrid& g, Image& out, std::string& err) {
  if (g.rows == 0 || g.cols == 0) return detail::fail(err, "the wafer map holds no rows of dies");
  if (g.rows > kMaxWaferMapSide || g.cols > kMaxWaferMapSide)
    return detail::fail(err, "wafer map of " + std::to_string(g.rows) + " x " + std::to_string(g.cols) +
                                 " dies exceeds the " + std::to_string(kMaxWaferMapSide) + " per side cap");
  if (g.die.size() != size_t(g.rows) * g.cols) return detail::fail(err, "internal: die grid size mismatch");
  if (!detail::allocate(out, g.rows, g.cols, 1, TRIAGE_PIXEL_U8, err)) return false;
  out.meaning = Channels::gray;
  for (uint32_t r = 0; r < g.rows; ++r) std::memcpy(out.bytes() + r * out.row_stride, g.die.data() + size_t(r) * g.cols, g.cols);
  return true;
}

}  // namespace triage::cli
