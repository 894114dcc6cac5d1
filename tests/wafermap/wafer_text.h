// Test helpers: random die grids, and a grid written as SINF / SEMI E142 text so that the readers must
// give the grid back (the writer stores it turned the other way round from what the reader applies).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tools/cli/image_io.h"
#include "tools/cli/wafermap_io.h"

namespace triage::test {

// rows x cols, a disc of dies (the corners empty) with random pass / fail states.
cli::DieGrid random_grid(std::mt19937& rng, uint32_t rows, uint32_t cols);
// The grid of a decoded image (u8, 1 channel).
cli::DieGrid grid_of(const cli::Image& img);
cli::DieGrid turned(cli::DieGrid g, int quarter_turns_ccw);

// SINF text with the flat at fnloc (0, 90, 180, 270) that decodes to g. Pass dies use the codes of
// BCEQU "01 02", fail dies 0B..EF, no die "__" (and a few "@@").
std::string sinf_text(const cli::DieGrid& g, uint32_t fnloc, std::mt19937& rng);

enum class E142Type { ascii, hex, integer2, decimal };
// E142 XML with the notch at orientation (0, 90, 180, 270) that decodes to g; bottom_side mirrors it.
std::string e142_text(const cli::DieGrid& g, uint32_t orientation, E142Type type, std::mt19937& rng,
                      bool bottom_side = false);

std::string npy_bytes(const cli::DieGrid& g);

}  // namespace triage::test
