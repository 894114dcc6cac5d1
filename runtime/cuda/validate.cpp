// Classify argument checks and host pixel staging of the CUDA engine (validate.h).
#include "runtime/cuda/validate.h"

#include <cstring>

#include "runtime/checked.h"

namespace triage::rt::gpu {

size_t packed_image_bytes(const triage_image& img) {
  const size_t bps = img.pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
  size_t row = 0, all = 0;
  if (!mul3_ok(img.width, img.channels, bps, row) || !mul_ok(row, static_cast<size_t>(img.height), all)) return SIZE_MAX;
  return all;
}

bool check_image(const triage_image& img, int i, int channels, bool device_input, size_t max_image_bytes, Error& err) {
  if (!img.data) return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: data is NULL", i);
  if (img.pixel != TRIAGE_PIXEL_U8 && img.pixel != TRIAGE_PIXEL_U16)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: pixel type %u is not u8 (1) or u16 (2)", i, img.pixel);
  if (img.height == 0 || img.width == 0)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: empty image (%u x %u)", i, img.height, img.width);
  if (img.height > TRIAGE_MAX_IMAGE_SIDE || img.width > TRIAGE_MAX_IMAGE_SIDE)
    return err.set(TRIAGE_E_LIMIT, "image %d: %u x %u exceeds the %u pixel side cap", i, img.height, img.width,
                   TRIAGE_MAX_IMAGE_SIDE);
  if (img.channels != static_cast<uint32_t>(channels))
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: %u channels, the model takes %d", i, img.channels, channels);
  const size_t bps = img.pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
  size_t row = 0, span = 0;
  if (!mul3_ok(img.width, img.channels, bps, row)) return err.set(TRIAGE_E_LIMIT, "image %d: row size overflows", i);
  if (img.row_stride < row)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: row_stride %zu is below width * channels * %zu = %zu", i,
                   img.row_stride, bps, row);
  if (!mul_ok(static_cast<size_t>(img.height - 1), img.row_stride, span) || !add_ok(span, row, span) ||
      span > static_cast<size_t>(INT64_MAX / 2))
    return err.set(TRIAGE_E_LIMIT, "image %d: image size overflows", i);
  if (bps == 2 && (img.row_stride % 2 != 0 || reinterpret_cast<uintptr_t>(img.data) % 2 != 0))
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: u16 data and row_stride must be 2-byte aligned", i);
  if (!device_input) {
    const size_t bytes = packed_image_bytes(img);
    if (bytes > max_image_bytes)
      return err.set(TRIAGE_E_LIMIT,
                     "image %d: %zu pixel bytes exceed the staging cap of %zu bytes per image "
                     "(triage_cuda_options.max_image_bytes)",
                     i, bytes, max_image_bytes);
  }
  return true;
}

size_t staging_slot_bytes(size_t max_image_bytes) {
  size_t r = 0;
  return align_up_ok(max_image_bytes, size_t(256), r) ? r : SIZE_MAX;
}

void pack_image_rows(const triage_image& img, uint8_t* dst) {
  const size_t row = static_cast<size_t>(img.width) * img.channels * (img.pixel == TRIAGE_PIXEL_U16 ? 2 : 1);
  const uint8_t* src = static_cast<const uint8_t*>(img.data);
  if (img.row_stride == row) {
    std::memcpy(dst, src, row * img.height);
    return;
  }
  for (uint32_t y = 0; y < img.height; ++y) std::memcpy(dst + y * row, src + y * img.row_stride, row);
}

}  // namespace triage::rt::gpu
