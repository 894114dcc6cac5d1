// Fused resize + normalise, AVX2, single-channel images (the model family's C = 1; other channel
// counts and heavy downscales (w > 2 S, where converting whole source rows costs more than it
// saves) take the scalar path). Per output row: the two source rows are converted to f32 / max
// once (reused by the next output row when the same), then 8 output columns at a time gather
// from them. The same f32 operations as the scalar reference (mul, mul, add; sub, div: no FMA),
// so results are bit-identical.
#include "kernels/cpu/internal.h"
#include "kernels/cpu/simd_avx2.h"

namespace triage::kernels::detail {
namespace {

static inline void load_row(const uint8_t* src, int w, float maxv, float* dst) {
  const __m256 mv = _mm256_set1_ps(maxv);
  int i = 0;
  for (; i + 8 <= w; i += 8) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i)));
    _mm256_storeu_ps(dst + i, _mm256_div_ps(_mm256_cvtepi32_ps(v), mv));
  }
  for (; i < w; ++i) dst[i] = float(src[i]) / maxv;
}
static inline void load_row(const uint16_t* src, int w, float maxv, float* dst) {
  const __m256 mv = _mm256_set1_ps(maxv);
  int i = 0;
  for (; i + 8 <= w; i += 8) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    _mm256_storeu_ps(dst + i, _mm256_div_ps(_mm256_cvtepi32_ps(v), mv));
  }
  for (; i < w; ++i) dst[i] = float(src[i]) / maxv;
}

template <typename T>
static void resize_avx2(const T* img, int h, int w, int rs, const ResizeNorm& p, float* out, int oy0,
                        int oy1, float* scratch) {
  const int S = p.out_size;
  float* row0 = scratch;
  float* row1 = row0 + w;
  int32_t* xi0 = reinterpret_cast<int32_t*>(row1 + w);
  int32_t* xi1 = xi0 + S;
  float* xt = reinterpret_cast<float*>(xi1 + S);
  for (int ox = 0; ox < S; ++ox) {
    const ResizeAxis a = resize_axis(ox, w, S);
    xi0[ox] = a.i0;
    xi1[ox] = a.i1;
    xt[ox] = a.t;
  }
  int have0 = -1, have1 = -1;
  const __m256 one = _mm256_set1_ps(1.f), mean = _mm256_set1_ps(p.mean), sd = _mm256_set1_ps(p.stdev);
  for (int oy = oy0; oy < oy1; ++oy) {
    const ResizeAxis ay = resize_axis(oy, h, S);
    if (have0 != ay.i0) {
      if (have1 == ay.i0) {  // moving down: the old second row becomes the first
        float* t = row0; row0 = row1; row1 = t;
        have0 = ay.i0;
        have1 = -1;
      } else {
        load_row(img + int64_t(ay.i0) * rs, w, p.max_value, row0);
        have0 = ay.i0;
      }
    }
    if (have1 != ay.i1) {
      load_row(img + int64_t(ay.i1) * rs, w, p.max_value, row1);
      have1 = ay.i1;
    }
    const __m256 ty = _mm256_set1_ps(ay.t), ty1 = _mm256_sub_ps(one, ty);
    float* o = out + size_t(oy) * S;
    int ox = 0;
    for (; ox + 8 <= S; ox += 8) {
      const __m256i i0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xi0 + ox));
      const __m256i i1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xi1 + ox));
      const __m256 tx = _mm256_loadu_ps(xt + ox), tx1 = _mm256_sub_ps(one, tx);
      const __m256 top = _mm256_add_ps(_mm256_mul_ps(tx1, _mm256_i32gather_ps(row0, i0, 4)),
                                       _mm256_mul_ps(tx, _mm256_i32gather_ps(row0, i1, 4)));
      const __m256 bot = _mm256_add_ps(_mm256_mul_ps(tx1, _mm256_i32gather_ps(row1, i0, 4)),
                                       _mm256_mul_ps(tx, _mm256_i32gather_ps(row1, i1, 4)));
      const __m256 r = _mm256_add_ps(_mm256_mul_ps(ty1, top), _mm256_mul_ps(ty, bot));
      _mm256_storeu_ps(o + ox, _mm256_div_ps(_mm256_sub_ps(r, mean), sd));
    }
    for (; ox < S; ++ox) {
      const float t = xt[ox];
      const float top = (1.f - t) * row0[xi0[ox]] + t * row0[xi1[ox]];
      const float bot = (1.f - t) * row1[xi0[ox]] + t * row1[xi1[ox]];
      const float r = (1.f - ay.t) * top + ay.t * bot;
      o[ox] = (r - p.mean) / p.stdev;
    }
  }
}

}  // namespace

size_t resize_scratch_floats_avx2(int w, int channels, int out_size) {
  return size_t(2) * w * channels + 3 * size_t(out_size) + 16;
}

void resize_normalize_u8_avx2(const uint8_t* img, int h, int w, int c, int64_t rs,
                              const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch) {
  if (c != 1 || w > 2 * p.out_size) return resize_normalize_u8_scalar(img, h, w, c, rs, p, out, oy0, oy1);
  resize_avx2(img, h, w, int(rs), p, out, oy0, oy1, scratch);
}
void resize_normalize_u16_avx2(const uint16_t* img, int h, int w, int c, int64_t rs,
                               const ResizeNorm& p, float* out, int oy0, int oy1, float* scratch) {
  if (c != 1 || w > 2 * p.out_size) return resize_normalize_u16_scalar(img, h, w, c, rs, p, out, oy0, oy1);
  resize_avx2(img, h, w, int(rs), p, out, oy0, oy1, scratch);
}

}  // namespace triage::kernels::detail
