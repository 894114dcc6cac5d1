// Scalar reference: 3x3 stride-2 pad-1 convolution in NHWC (+ bias, ReLU), weight packing, and the
// patch-projection helpers (weight repack, patch gather; pure data movement).
#include <cstring>

#include "kernels/cpu/internal.h"

namespace triage::kernels {

size_t conv3x3s2_packed_floats(int cout, int cin) { return size_t(9) * cin * detail::round_up(cout, 8); }

void conv3x3s2_pack_f32(const float* w_oihw, int cout, int cin, float* dst) {
  const int cp = detail::round_up(cout, 8);
  for (int ky = 0; ky < 3; ++ky)
    for (int kx = 0; kx < 3; ++kx)
      for (int ci = 0; ci < cin; ++ci)
        for (int co = 0; co < cp; ++co)
          *dst++ = co < cout ? w_oihw[((size_t(co) * cin + ci) * 3 + ky) * 3 + kx] : 0.f;
}

void patch_weight_repack_f32(const float* w, int d, int c2, int p, float* dst) {
  for (int o = 0; o < d; ++o)
    for (int ky = 0; ky < p; ++ky)
      for (int kx = 0; kx < p; ++kx)
        for (int c = 0; c < c2; ++c) *dst++ = w[((size_t(o) * c2 + c) * p + ky) * p + kx];
}

void patch_weight_repack_i8(const int8_t* w, int d, int c2, int p, int8_t* dst) {
  for (int o = 0; o < d; ++o)
    for (int ky = 0; ky < p; ++ky)
      for (int kx = 0; kx < p; ++kx)
        for (int c = 0; c < c2; ++c) *dst++ = w[((size_t(o) * c2 + c) * p + ky) * p + kx];
}

void patch_gather_f32(const float* in, int h, int w, int c, int64_t ld_in, int p, float* out,
                      int64_t ld_out, int t0, int t1) {
  const int gw = w / p;
  for (int t = t0; t < t1; ++t) {
    const int ty = t / gw, tx = t % gw;
    float* o = out + t * ld_out;
    for (int ky = 0; ky < p; ++ky) {  // one patch row of NHWC is p*c contiguous floats
      std::memcpy(o + size_t(ky) * p * c, in + (ty * p + ky) * ld_in + size_t(tx) * p * c,
                  sizeof(float) * p * c);
    }
  }
}

namespace detail {

void conv3x3s2_f32_scalar(const float* in, int h, int w, int cin, int64_t ld_in, const float* wp,
                          const float* bias, int cout, bool relu, float* out, int oy0, int oy1) {
  const int wo = (w + 1) / 2, cp = round_up(cout, 8);
  for (int oy = oy0; oy < oy1; ++oy)
    for (int ox = 0; ox < wo; ++ox)
      for (int co = 0; co < cout; ++co) {
        float acc = bias ? bias[co] : 0.f;
        for (int ky = 0; ky < 3; ++ky) {
          const int iy = 2 * oy - 1 + ky;
          if (iy < 0 || iy >= h) continue;
          for (int kx = 0; kx < 3; ++kx) {
            const int ix = 2 * ox - 1 + kx;
            if (ix < 0 || ix >= w) continue;
            const float* src = in + iy * ld_in + size_t(ix) * cin;
            const float* wt = wp + size_t(ky * 3 + kx) * cin * cp + co;
            for (int ci = 0; ci < cin; ++ci) acc += src[ci] * wt[size_t(ci) * cp];
          }
        }
        if (relu && acc < 0.f) acc = 0.f;
        out[(size_t(oy) * wo + ox) * cout + co] = acc;
      }
}

}  // namespace detail
}  // namespace triage::kernels
