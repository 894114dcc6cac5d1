// Fused bilinear resize (half-pixel centres, no antialias) + value map + normalise from u8/u16 pixels
// in device memory (staged host images or the caller's device buffers), NHWC f32 out. Every operation
// is the scalar reference's, explicitly rounded (no FMA contraction), so the output equals
// kernels::resize_normalize_u8/u16 bit for bit. One thread per output sample.
#include "kernels/cuda/common.cuh"

namespace triage::cuda {
namespace {

struct Axis {
  int i0, i1;
  float t;
};

__device__ __forceinline__ Axis axis(int d, int n, int S) {
  const float scale = __fdiv_rn(static_cast<float>(n), static_cast<float>(S));
  float s = __fsub_rn(__fmul_rn(__fadd_rn(static_cast<float>(d), 0.5f), scale), 0.5f);
  if (s < 0.f) s = 0.f;
  int i0 = static_cast<int>(s);
  if (i0 > n - 1) i0 = n - 1;
  const int i1 = i0 + 1 < n ? i0 + 1 : n - 1;
  return {i0, i1, __fsub_rn(s, static_cast<float>(i0))};
}

template <typename T>
__device__ __forceinline__ float sample(const uint8_t* row, int x, int c, int ch, float max_value) {
  return __fdiv_rn(static_cast<float>(reinterpret_cast<const T*>(row)[x * c + ch]), max_value);
}

__global__ void __launch_bounds__(256) resize_kernel(const ResizeArgs a) {
  const int z = blockIdx.y;
  if (z >= dev::live_rows(a.live, a.images)) return;
  const int S = a.S, C = a.C;
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= S * S * C) return;
  const ImageDesc d = a.desc[a.map ? a.map[z] : z];
  const int ch = idx % C, ox = (idx / C) % S, oy = idx / (C * S);
  const int h = static_cast<int>(d.height), w = static_cast<int>(d.width), c = static_cast<int>(d.channels);
  const Axis ay = axis(oy, h, S), ax = axis(ox, w, S);
  const uint8_t* r0 = static_cast<const uint8_t*>(d.data) + static_cast<int64_t>(ay.i0) * d.row_stride;
  const uint8_t* r1 = static_cast<const uint8_t*>(d.data) + static_cast<int64_t>(ay.i1) * d.row_stride;
  float a00, a01, a10, a11;
  if (d.pixel == 2) {
    a00 = sample<uint16_t>(r0, ax.i0, c, ch, a.max_u16);
    a01 = sample<uint16_t>(r0, ax.i1, c, ch, a.max_u16);
    a10 = sample<uint16_t>(r1, ax.i0, c, ch, a.max_u16);
    a11 = sample<uint16_t>(r1, ax.i1, c, ch, a.max_u16);
  } else {
    a00 = sample<uint8_t>(r0, ax.i0, c, ch, a.max_u8);
    a01 = sample<uint8_t>(r0, ax.i1, c, ch, a.max_u8);
    a10 = sample<uint8_t>(r1, ax.i0, c, ch, a.max_u8);
    a11 = sample<uint8_t>(r1, ax.i1, c, ch, a.max_u8);
  }
  const float tx1 = __fsub_rn(1.f, ax.t), ty1 = __fsub_rn(1.f, ay.t);
  const float top = __fadd_rn(__fmul_rn(tx1, a00), __fmul_rn(ax.t, a01));
  const float bot = __fadd_rn(__fmul_rn(tx1, a10), __fmul_rn(ax.t, a11));
  const float r = __fadd_rn(__fmul_rn(ty1, top), __fmul_rn(ay.t, bot));
  a.out[static_cast<int64_t>(z) * S * S * C + idx] = __fdiv_rn(__fsub_rn(r, a.mean), a.stdev);
}

}  // namespace

cudaError_t resize_normalize(const ResizeArgs& a, cudaStream_t s) {
  if (!a.desc || !a.out || a.S < 1 || a.C < 1 || a.images < 0 || a.images > 65535) return cudaErrorInvalidValue;
  if (a.images == 0) return cudaSuccess;
  const int total = a.S * a.S * a.C;
  const dim3 grid((total + 255) / 256, a.images), block(256);
  resize_kernel<<<grid, block, 0, s>>>(a);
  return cudaGetLastError();
}

}  // namespace triage::cuda
