// Host-side checks of classify arguments for the CUDA engine, and the staging layout of host pixels
// (no device calls: tested on any machine).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/error.h"
#include "runtime/triage.h"

namespace triage::rt::gpu {

// Bytes of an image's pixels packed without row padding: height * width * channels * sample bytes.
size_t packed_image_bytes(const triage_image& img);

// The checks of the CPU engine (data, pixel type, sides, channels, row stride, overflow, u16 alignment)
// plus, for host input (device_input false), packed_image_bytes <= max_image_bytes (LIMIT otherwise:
// the staging area is sized at open).
bool check_image(const triage_image& img, int index, int channels, bool device_input, size_t max_image_bytes,
                 Error& err);

// Staging slot size for a per-image byte cap (rounded up to 256 bytes); 0 when the cap is 0.
size_t staging_slot_bytes(size_t max_image_bytes);

// Copies image i's rows, packed, to dst (packed_image_bytes bytes).
void pack_image_rows(const triage_image& img, uint8_t* dst);

}  // namespace triage::rt::gpu
