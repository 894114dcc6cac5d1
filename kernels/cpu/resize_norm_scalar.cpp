// Scalar reference: fused bilinear resize (half-pixel, no antialias) + value map + normalise,
// exactly the f32 operations listed in kernels.h (no FMA; this file is built with
// -ffp-contract=off like every kernel file).
#include <cmath>

#include "kernels/cpu/internal.h"

namespace triage::kernels::detail {

ResizeAxis resize_axis(int d, int n, int S) {
  const float scale = float(n) / float(S);
  float s = (float(d) + 0.5f) * scale - 0.5f;
  if (s < 0.f) s = 0.f;
  int i0 = int(s);  // s >= 0: truncation is floor
  if (i0 > n - 1) i0 = n - 1;
  const int i1 = i0 + 1 < n ? i0 + 1 : n - 1;
  return {i0, i1, s - float(i0)};
}

template <typename T>
static void resize_ref(const T* img, int h, int w, int c, int64_t rs, const ResizeNorm& p, float* out,
                       int oy0, int oy1) {
  const int S = p.out_size;
  for (int oy = oy0; oy < oy1; ++oy) {
    const ResizeAxis ay = resize_axis(oy, h, S);
    const T* r0 = img + ay.i0 * rs;
    const T* r1 = img + ay.i1 * rs;
    for (int ox = 0; ox < S; ++ox) {
      const ResizeAxis ax = resize_axis(ox, w, S);
      for (int ch = 0; ch < c; ++ch) {
        const float a00 = float(r0[ax.i0 * c + ch]) / p.max_value;
        const float a01 = float(r0[ax.i1 * c + ch]) / p.max_value;
        const float a10 = float(r1[ax.i0 * c + ch]) / p.max_value;
        const float a11 = float(r1[ax.i1 * c + ch]) / p.max_value;
        const float top = (1.f - ax.t) * a00 + ax.t * a01;
        const float bot = (1.f - ax.t) * a10 + ax.t * a11;
        const float r = (1.f - ay.t) * top + ay.t * bot;
        out[(size_t(oy) * S + ox) * c + ch] = (r - p.mean) / p.stdev;
      }
    }
  }
}

void resize_normalize_u8_scalar(const uint8_t* img, int h, int w, int c, int64_t rs,
                                const ResizeNorm& p, float* out, int oy0, int oy1) {
  resize_ref(img, h, w, c, rs, p, out, oy0, oy1);
}
void resize_normalize_u16_scalar(const uint16_t* img, int h, int w, int c, int64_t rs,
                                 const ResizeNorm& p, float* out, int oy0, int oy1) {
  resize_ref(img, h, w, c, rs, p, out, oy0, oy1);
}

}  // namespace triage::kernels::detail
