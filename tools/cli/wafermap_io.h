// Wafer maps from the tester, turned into the die grid the wafer model reads (as the WM-811K .npy
// maps are): a 1-channel u8 image, 0 = no die, 1 = passing die, 2 = failing die, rotated so that the
// flat / notch is at the bottom. Rules and orientation: docs/wafer-map-formats.md.
//   SINF        text: KEY:value header lines (FNLOC, ROWCT, COLCT, BCEQU, ...) and one `RowData:` line
//               per row of hex bin codes; `__` no die, `@@` untested -> 0; codes listed in BCEQU (default
//               01) -> 1; FD, FE (edge) and FF (reference) -> 0 unless BCEQU lists them; others -> 2
//               (wafermap_sinf.cpp).
//   SEMI E142   XML: one SubstrateMap whose Overlay holds one BinCodeMap (2DArray) with BinDefinitions;
//               NullBin and Null / Skip / Untested / Reference / Edge bins -> 0, Pass -> 1, Fail -> 2
//               (wafermap_e142.cpp, on the bounded XML subset reader of xml_subset.h).
// Both check hard caps (file bytes, rows, columns, bin definitions, line length), parse every number
// with overflow checks and report a malformed file in one line naming the line ("SINF line 7: ...");
// callers prefix the file's path. decode_image (image_io.h) picks them by content (looks_like_*).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tools/cli/image_io.h"

namespace triage::cli {

inline constexpr size_t kMaxWaferMapBytes = size_t(64) << 20;  // 64 MiB
inline constexpr uint32_t kMaxWaferMapSide = 4096;           // rows and columns
inline constexpr size_t kMaxWaferMapBins = 4096;             // BCEQU entries / BinDefinitions
inline constexpr size_t kMaxWaferMapLine = size_t(1) << 20;  // bytes of one SINF line / one E142 row

// Die states of the grid (WM-811K's values).
inline constexpr uint8_t kNoDie = 0, kPassDie = 1, kFailDie = 2;

bool looks_like_sinf(std::span<const uint8_t> file);
bool looks_like_e142(std::span<const uint8_t> file);
bool decode_sinf(std::span<const uint8_t> file, Image& out, std::string& err);
bool decode_e142(std::span<const uint8_t> file, Image& out, std::string& err);

// A decimal field of a map file: digits only (no sign), at most 9 of them (no overflow), value <= max.
bool parse_decimal(std::string_view s, uint32_t max, uint32_t& out);

// A die grid as the readers build it: row-major, rows x cols, values kNoDie / kPassDie / kFailDie.
struct DieGrid {
  uint32_t rows = 0, cols = 0;
  std::vector<uint8_t> die;
};

// Turns grid counter-clockwise by quarter_turns * 90 degrees (any integer; taken modulo 4).
void rotate_ccw(DieGrid& grid, int quarter_turns);
// Mirrors left-right.
void mirror_columns(DieGrid& grid);
// The grid as the model's input image (u8, 1 channel, gray). false + err when it is empty or over the caps.
bool grid_to_image(const DieGrid& grid, Image& out, std::string& err);

}  // namespace triage::cli
