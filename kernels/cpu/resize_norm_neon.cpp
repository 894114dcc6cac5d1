// Fused resize + normalise, NEON: per-element tables (source element offsets of the left / right pixel,
// tx) are built once per call in scratch (any channel count: element e = ox * c + ch); each output row
// then takes 4 elements at a time: the 4 source samples of each are read with scalar loads (NEON has no
// gather; nothing is read outside the image), and the arithmetic runs 4 lanes wide.
// The same f32 operations as the scalar reference (division by max_value; mul, mul, add; sub, div: no
// FMA), so results are bit-identical.
#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_neon.h"

namespace triage::kernels::detail {
namespace {

template <typename T>
static inline float32x4_t px4(const T* r, const int32_t* idx, float32x4_t maxv) {
  const uint32_t v[4] = {r[idx[0]], r[idx[1]], r[idx[2]], r[idx[3]]};
  return vdivq_f32(vcvtq_f32_u32(vld1q_u32(v)), maxv);
}

template <typename T>
static void resize_neon(const T* img, int h, int w, int c, int64_t rs, const ResizeNorm& p, float* out,
                        int oy0, int oy1, float* scratch) {
  const int S = p.out_size, row = S * c;
  int32_t* e0 = reinterpret_cast<int32_t*>(scratch);
  int32_t* e1 = e0 + row;
  float* xt = reinterpret_cast<float*>(e1 + row);
  for (int ox = 0; ox < S; ++ox) {
    const ResizeAxis a = resize_axis(ox, w, S);
    for (int ch = 0; ch < c; ++ch) {
      e0[ox * c + ch] = a.i0 * c + ch;
      e1[ox * c + ch] = a.i1 * c + ch;
      xt[ox * c + ch] = a.t;
    }
  }
  const float32x4_t one = vdupq_n_f32(1.f), maxv = vdupq_n_f32(p.max_value);
  const float32x4_t mean = vdupq_n_f32(p.mean), sd = vdupq_n_f32(p.stdev);
  for (int oy = oy0; oy < oy1; ++oy) {
    const ResizeAxis ay = resize_axis(oy, h, S);
    const T* r0 = img + ay.i0 * rs;
    const T* r1 = img + ay.i1 * rs;
    const float32x4_t ty = vdupq_n_f32(ay.t), ty1 = vsubq_f32(one, ty);
    float* o = out + size_t(oy) * row;
    int e = 0;
    for (; e + 4 <= row; e += 4) {
      const float32x4_t tx = vld1q_f32(xt + e), tx1 = vsubq_f32(one, tx);
      const float32x4_t top = vaddq_f32(vmulq_f32(tx1, px4(r0, e0 + e, maxv)), vmulq_f32(tx, px4(r0, e1 + e, maxv)));
      const float32x4_t bot = vaddq_f32(vmulq_f32(tx1, px4(r1, e0 + e, maxv)), vmulq_f32(tx, px4(r1, e1 + e, maxv)));
      const float32x4_t r = vaddq_f32(vmulq_f32(ty1, top), vmulq_f32(ty, bot));
      vst1q_f32(o + e, vdivq_f32(vsubq_f32(r, mean), sd));
    }
    for (; e < row; ++e) {
      const float t = xt[e];
      const float a00 = float(r0[e0[e]]) / p.max_value, a01 = float(r0[e1[e]]) / p.max_value;
      const float a10 = float(r1[e0[e]]) / p.max_value, a11 = float(r1[e1[e]]) / p.max_value;
      const float top = (1.f - t) * a00 + t * a01;
      const float bot = (1.f - t) * a10 + t * a11;
      const float r = (1.f - ay.t) * top + ay.t * bot;
      o[e] = (r - p.mean) / p.stdev;
    }
  }
}

}  // namespace

size_t resize_scratch_floats_neon(int w, int channels, int out_size) {
  (void)w;
  return 3 * size_t(out_size) * channels + 16;
}

void resize_normalize_u8_neon(const uint8_t* img, int h, int w, int c, int64_t rs,
                              const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch) {
  resize_neon(img, h, w, c, rs, p, out, oy0, oy1, scratch);
}
void resize_normalize_u16_neon(const uint16_t* img, int h, int w, int c, int64_t rs,
                               const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch) {
  resize_neon(img, h, w, c, rs, p, out, oy0, oy1, scratch);
}

}  // namespace triage::kernels::detail
