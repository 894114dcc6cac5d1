// Fused resize + normalise, AVX2: 8 output elements at a time gather their 4 source pixels
// straight from the u8 / u16 image (32-bit gathers at element offsets, masked to 8 / 16 bits), so
// any scale factor costs the same per output pixel and no source row is converted in full.
// Per-element tables (source offsets, tx) are built once per call in scratch; any channel count
// works (element e = ox * c + ch). A 32-bit gather reads up to 3 bytes (u8) / 2 bytes (u16) past
// the element: blocks whose last read could leave the image take the scalar path.
// The same f32 operations as the scalar reference (division by max_value; mul, mul, add; sub,
// div: no FMA), so results are bit-identical.
// u8 images that are not shrunk much vertically (h < 1.5 S: neighbouring output rows share source
// rows, as every upscale does) take a separable path instead: each source row's horizontal lerp
// (`top` / `bot` of the reference) is computed once into one of two cached rows, with a 256-entry
// table of v / max_value (the same quotients) and scalar loads, since this core's gathers cost more
// than the scalar loads they replace; the vertical lerp and the normalisation then run 8 wide.
// Division by a power-of-two stdev is a multiplication by its reciprocal: the exact quotient and
// the exact product are the same number, rounded once either way, so the bits do not change.
#include <cmath>

#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

// One source row's horizontal lerp: dst[e] = (1 - tx) * lut[r[e0]] + tx * lut[r[e1]].
static void hrow_u8(const uint8_t* r, const int32_t* e0, const int32_t* e1, const float* xt, int row,
                    const float* lut, float* dst) {
  for (int e = 0; e < row; ++e) {
    const float t = xt[e];
    dst[e] = (1.f - t) * lut[r[e0[e]]] + t * lut[r[e1[e]]];
  }
}

static void resize_separable_u8(const uint8_t* img, int h, int c, int64_t rs, const ResizeNorm& p, float* out,
                                int oy0, int oy1, const int32_t* e0, const int32_t* e1, const float* xt,
                                float* cache) {
  const int S = p.out_size, row = S * c;
  float* lut = cache;  // 256
  float* rows[2] = {cache + 256, cache + 256 + row};
  int held[2] = {-1, -1};  // source row in each cached row
  for (int v = 0; v < 256; ++v) lut[v] = float(v) / p.max_value;
  int ex = 0;
  // A power of two whose reciprocal is finite (below 2^-128 it overflows, and d * inf is not d / s).
  const bool pow2 = std::frexp(p.stdev, &ex) == 0.5f && std::isfinite(1.f / p.stdev);
  const __m256 one = _mm256_set1_ps(1.f), mean = _mm256_set1_ps(p.mean), sd = _mm256_set1_ps(p.stdev);
  const __m256 inv = _mm256_set1_ps(1.f / p.stdev);  // exact when pow2
  for (int oy = oy0; oy < oy1; ++oy) {
    const ResizeAxis ay = resize_axis(oy, h, S);
    const float* src[2] = {nullptr, nullptr};
    const int need[2] = {ay.i0, ay.i1};
    for (int k = 0; k < 2; ++k)
      for (int j = 0; j < 2; ++j)
        if (held[j] == need[k]) src[k] = rows[j];
    for (int k = 0; k < 2; ++k) {
      if (src[k]) continue;
      const int j = src[1 - k] == rows[0] ? 1 : 0;  // the cached row the other input does not use
      hrow_u8(img + need[k] * rs, e0, e1, xt, row, lut, rows[j]);
      held[j] = need[k];
      src[k] = rows[j];
    }
    const __m256 ty = _mm256_set1_ps(ay.t), ty1 = _mm256_sub_ps(one, ty);
    float* o = out + size_t(oy) * row;
    int e = 0;
    for (; e + 8 <= row; e += 8) {
      const __m256 r = _mm256_add_ps(_mm256_mul_ps(ty1, _mm256_loadu_ps(src[0] + e)),
                                     _mm256_mul_ps(ty, _mm256_loadu_ps(src[1] + e)));
      const __m256 d = _mm256_sub_ps(r, mean);
      _mm256_storeu_ps(o + e, pow2 ? _mm256_mul_ps(d, inv) : _mm256_div_ps(d, sd));
    }
    for (; e < row; ++e) {
      const float r = (1.f - ay.t) * src[0][e] + ay.t * src[1][e];
      o[e] = (r - p.mean) / p.stdev;
    }
  }
}

template <typename T>
static void resize_avx2(const T* img, int h, int w, int c, int64_t rs, const ResizeNorm& p, float* out,
                        int oy0, int oy1, float* scratch) {
  const int S = p.out_size, row = S * c;
  int32_t* e0 = reinterpret_cast<int32_t*>(scratch);  // element offsets of the left / right pixel
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
  if (sizeof(T) == 1 && int64_t(h) * 2 < int64_t(S) * 3) {
    resize_separable_u8(reinterpret_cast<const uint8_t*>(img), h, c, rs, p, out, oy0, oy1, e0, e1, xt,
                        xt + row);
    return;
  }
  const int64_t total = int64_t(h - 1) * rs + int64_t(w) * c;  // elements readable
  constexpr int kOver = sizeof(T) == 1 ? 3 : 1;                 // elements a 4-byte read overruns
  const __m256i lowmask = _mm256_set1_epi32(sizeof(T) == 1 ? 0xff : 0xffff);
  const __m256 one = _mm256_set1_ps(1.f), maxv = _mm256_set1_ps(p.max_value);
  const __m256 mean = _mm256_set1_ps(p.mean), sd = _mm256_set1_ps(p.stdev);
  for (int oy = oy0; oy < oy1; ++oy) {
    const ResizeAxis ay = resize_axis(oy, h, S);
    const T* r0 = img + ay.i0 * rs;
    const T* r1 = img + ay.i1 * rs;
    const int64_t limit = total - (ay.i1 * rs) - kOver;  // last safe offset in r1 (r0 is above it)
    const __m256 ty = _mm256_set1_ps(ay.t), ty1 = _mm256_sub_ps(one, ty);
    float* o = out + size_t(oy) * row;
    auto px = [&](const T* r, __m256i idx) {
      const __m256i v = _mm256_i32gather_epi32(reinterpret_cast<const int*>(r), idx, sizeof(T));
      return _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_and_si256(v, lowmask)), maxv);
    };
    int e = 0;
    // e1[e + 7] + c - 1 bounds every offset of the block (i1 is nondecreasing in ox).
    for (; e + 8 <= row && e1[e + 7] + (c - 1) < limit; e += 8) {
      const __m256i i0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e0 + e));
      const __m256i i1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e1 + e));
      const __m256 tx = _mm256_loadu_ps(xt + e), tx1 = _mm256_sub_ps(one, tx);
      const __m256 top = _mm256_add_ps(_mm256_mul_ps(tx1, px(r0, i0)), _mm256_mul_ps(tx, px(r0, i1)));
      const __m256 bot = _mm256_add_ps(_mm256_mul_ps(tx1, px(r1, i0)), _mm256_mul_ps(tx, px(r1, i1)));
      const __m256 r = _mm256_add_ps(_mm256_mul_ps(ty1, top), _mm256_mul_ps(ty, bot));
      _mm256_storeu_ps(o + e, _mm256_div_ps(_mm256_sub_ps(r, mean), sd));
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

size_t resize_scratch_floats_avx2(int w, int channels, int out_size) {
  return 5 * size_t(out_size) * channels + 256 + 16;  // tables, 2 cached rows, the u8 table
}

void resize_normalize_u8_avx2(const uint8_t* img, int h, int w, int c, int64_t rs,
                              const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch) {
  resize_avx2(img, h, w, c, rs, p, out, oy0, oy1, scratch);
}
void resize_normalize_u16_avx2(const uint16_t* img, int h, int w, int c, int64_t rs,
                               const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch) {
  resize_avx2(img, h, w, c, rs, p, out, oy0, oy1, scratch);
}

}  // namespace triage::kernels::detail
