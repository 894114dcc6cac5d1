// Work and traffic of each CUDA kernel (for roofline numbers in bench/cuda): floating-point (or int8)
// operations counted as 2 per multiply-add, and the fewest bytes the op must move through device memory
// (each input read once, each output written once; residual accumulation reads and writes y). Host only.
#pragma once

#include <cstdint>

namespace triage::cuda::cost {

struct Cost {
  double ops = 0;    // flops, or int8 ops for the q8 GEMM
  double bytes = 0;  // minimum DRAM traffic
};

// A [M, K] (a_bytes per element: 1 q8 / 2 bf16) times W [N, K]^T; out_bytes per output element
// (4 f32, 2 bf16, 1 int8 + a row scale); accumulate: y read as well.
inline Cost gemm(double M, double N, double K, double a_bytes, double out_bytes, bool accumulate, bool q8) {
  Cost c;
  c.ops = 2 * M * N * K;
  c.bytes = M * K * a_bytes + N * K * a_bytes + M * N * out_bytes + N * 4 /* bias */;
  if (q8) c.bytes += (M + N) * 4;  // scales
  if (accumulate) c.bytes += M * N * 4;
  if (out_bytes == 1) c.bytes += M * 4;
  return c;
}

// images x heads attention over n tokens of head_dim hd: QK^T and PV (2 n^2 hd each), f32 I/O.
inline Cost attention(double images, double heads, double n, double hd, double out_bytes) {
  Cost c;
  c.ops = images * heads * 4 * n * n * hd;
  c.bytes = images * n * heads * hd * (3 * 4 + out_bytes);
  return c;
}

// Row kernel: LayerNorm (about 8 ops per element) or plain conversion (2), f32 in.
inline Cost rows(double rows, double dim, double out_bytes, bool norm) {
  Cost c;
  c.ops = rows * dim * (norm ? 8 : 2);
  c.bytes = rows * dim * (4 + out_bytes) + (out_bytes == 1 ? rows * 4 : 0) + (norm ? 2 * dim * 4 : 0);
  return c;
}

// 3x3 stride-2 convolution of z inputs h x w x cin -> ho x wo x cout.
inline Cost conv3x3s2(double z, double h, double w, double cin, double cout, double out_bytes) {
  const double ho = static_cast<double>((static_cast<int64_t>(h) + 1) / 2);
  const double wo = static_cast<double>((static_cast<int64_t>(w) + 1) / 2);
  Cost c;
  c.ops = z * ho * wo * cout * cin * 9 * 2;
  c.bytes = z * (h * w * cin * 4 + ho * wo * cout * out_bytes) + 9 * cin * cout * 4;
  return c;
}

// Resize of an h x w x C image of bps bytes per sample to S x S x C f32 (about 14 ops per output).
inline Cost resize(double images, double h, double w, double C, double bps, double S) {
  const double src = (h * w < 4 * S * S ? h * w : 4 * S * S) * C * bps;
  Cost c;
  c.ops = images * S * S * C * 14;
  c.bytes = images * (src + S * S * C * 4);
  return c;
}

}  // namespace triage::cuda::cost
