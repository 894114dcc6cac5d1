/* triage CUDA: the GPU engine's C API (C99-compatible), beside triage.h, for the same .trw files.
 *
 * Available when libtriage was built with the CUDA backend (TRIAGE_HAVE_CUDA=1; CMake option
 * TRIAGE_CUDA=AUTO/ON with nvcc present). Devices: compute capability 8.0 or newer with a kernel image in
 * the build (the default build embeds sm_87, Jetson Orin, and sm_90, H100).
 *
 * Life cycle: triage_cuda_options_init -> triage_cuda_open_memory / _file -> triage_cuda_classify /
 * _classify_batch / _classify_batch_device (any number of times) -> triage_cuda_close.
 *
 * Guarantees (mirroring triage.h)
 * - Every device and pinned-host allocation happens in triage_cuda_open_* (weights uploaded once; all
 *   activations, staging and result buffers sized for max_batch and the route policy; one CUDA graph per
 *   batch bucket captured there). Classifying allocates nothing.
 * - No exception, abort or exit crosses this API; every CUDA call is checked and a failure becomes a
 *   status plus a message (triage_cuda_last_error / triage_cuda_open_error). A CUDA error that leaves the
 *   context unusable (an illegal address, say) makes every later call on the handle fail: close it.
 * - Results equal, per image, what the batch gives for that image alone (no dependence on the batch's
 *   other images or size), and are identical run to run on one device and build.
 * - Numerics: linear layers stored q8 run int8 x int8 -> int32 on tensor cores with per-token int8
 *   activations, as the CPU engine; layers stored f32 / f16 / bf16 run in bf16 with f32 accumulation
 *   (the CPU runs them in f32), so logits differ from the CPU engine at bf16 rounding level.
 * - Routing uses the rules of runtime/router.h on the host over the logits the device computed; the
 *   escalated images are compacted on the device and run as one dense fine sub-batch.
 * - A handle is not re-entrant; calls on one handle are serialised by the caller.
 */
#ifndef TRIAGE_CUDA_H_
#define TRIAGE_CUDA_H_

#include "runtime/triage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* triage_cuda_options.flags */
#define TRIAGE_CUDA_NO_GRAPHS 1u /* launch the kernels one by one each call instead of replaying graphs */
#define TRIAGE_CUDA_ALLOW_UNCALIBRATED 2u /* as TRIAGE_OPEN_ALLOW_UNCALIBRATED (triage.h): without it a file
                                             whose router is not calibrated never decides its good class */

typedef struct triage_cuda_options {
  uint32_t struct_size;     /* sizeof(triage_cuda_options) */
  int32_t device;           /* CUDA device ordinal */
  uint32_t max_batch;       /* 1..TRIAGE_MAX_BATCH: largest n accepted by the batch calls */
  uint32_t force;           /* triage_force */
  uint64_t max_image_bytes; /* host input: largest packed image (h * w * channels * sample bytes) staged;
                               0 = device input only (triage_cuda_classify_batch_device) */
  void* stream;             /* cudaStream_t to run on; NULL = a stream the handle creates */
  uint32_t flags;           /* TRIAGE_CUDA_* flags */
  uint32_t reserved;        /* must be 0 */
} triage_cuda_options;

typedef struct triage_cuda_info {
  uint32_t struct_size;      /* sizeof(triage_cuda_info), set by the caller */
  int32_t device;
  char device_name[128];
  int32_t cc_major, cc_minor; /* compute capability */
  uint64_t weight_bytes;      /* device memory of the weights */
  uint64_t activation_bytes;  /* device memory of activations, staging and results */
  uint64_t pinned_bytes;      /* pinned host memory (staging + results) */
  uint32_t graphs;            /* CUDA graphs captured (0 with TRIAGE_CUDA_NO_GRAPHS) */
  uint32_t buckets;           /* batch sizes a graph serves: 1, 2, 4, ..., max_batch */
  uint64_t route_reruns;      /* fine passes re-run because the host router and the device flags
                                 disagreed at a threshold (expected 0; counted for audit) */
} triage_cuda_info;

typedef struct triage_cuda_model triage_cuda_model;

/* Fills defaults: device 0, max_batch 1, force NONE, max_image_bytes 4 MiB, stream NULL, flags 0. */
void triage_cuda_options_init(triage_cuda_options* opts);

/* Number of CUDA devices usable by this build (0 when none, no driver, or an error). */
int triage_cuda_device_count(void);

triage_status triage_cuda_open_memory(const void* data, size_t size, const triage_cuda_options* opts,
                                      triage_cuda_model** out);
triage_status triage_cuda_open_file(const char* path, const triage_cuda_options* opts, triage_cuda_model** out);
/* The message of the last failed triage_cuda_open_* on the calling thread ("" if none). */
const char* triage_cuda_open_error(void);

/* Host images (pixels in host memory; each at most max_image_bytes packed). Synchronous: returns when
 * the results are on the host; the work runs on the handle's stream. */
triage_status triage_cuda_classify(triage_cuda_model* model, const triage_image* image, triage_result* out);
triage_status triage_cuda_classify_batch(triage_cuda_model* model, const triage_image* images, size_t n,
                                         triage_result* results);
/* The same with images[i].data device pointers on the handle's device (row_stride in bytes), readable
 * in stream order on the handle's stream. */
triage_status triage_cuda_classify_batch_device(triage_cuda_model* model, const triage_image* images, size_t n,
                                                triage_result* results);

/* Model description as triage_get_info gives it (isa "cuda", threads 1, arena_bytes = device activation
 * bytes, weight_bytes = device weight bytes). */
triage_status triage_cuda_get_info(const triage_cuda_model* model, triage_model_info* out);
triage_status triage_cuda_get_device_info(const triage_cuda_model* model, triage_cuda_info* out);

/* The message of the last failed call on this handle ("" if the last call succeeded). */
const char* triage_cuda_last_error(const triage_cuda_model* model);

void triage_cuda_close(triage_cuda_model* model); /* NULL is a no-op */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRIAGE_CUDA_H_ */
