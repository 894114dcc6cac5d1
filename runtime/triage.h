/* triage: the public C API of libtriage (C99-compatible).
 *
 * Life cycle: triage_options_init -> (triage_arena_size) -> triage_open_memory / triage_open_file ->
 * triage_classify / triage_classify_batch (any number of times) -> triage_close.
 *
 * Guarantees
 * - Every allocation happens inside triage_open_*: weights are packed and the activation arena is planned
 *   (and allocated, unless the caller passes one) there. Classifying never allocates.
 * - No exception, abort or exit crosses this API: every failure is a status code plus a message
 *   (triage_last_error for a model handle, triage_open_error for a failed open on the calling thread).
 * - Outputs are bit-identical across runs, thread counts and batch compositions for a given model file,
 *   ISA and library build.
 * - A handle is not re-entrant: the caller serialises calls on one handle (different handles are
 *   independent). The handle's worker threads (options.threads - 1 of them) are created at open,
 *   sleep between calls and are joined at close; with threads == 1 everything runs on the caller.
 */
#ifndef TRIAGE_H_
#define TRIAGE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRIAGE_API_VERSION 1

/* Hard caps on API arguments (anything larger is refused with TRIAGE_E_LIMIT). */
#define TRIAGE_MAX_IMAGE_SIDE 16384u /* pixels per side of an input image */
#define TRIAGE_MAX_CHANNELS 4u
#define TRIAGE_MAX_THREADS 256u
#define TRIAGE_MAX_BATCH 4096u
#define TRIAGE_MAX_MODEL_BYTES ((uint64_t)1 << 36)

typedef enum triage_status {
  TRIAGE_OK = 0,
  TRIAGE_E_INVALID_ARGUMENT = 1, /* null pointer, zero size, inconsistent argument */
  TRIAGE_E_IO = 2,               /* a file could not be opened or read */
  TRIAGE_E_FORMAT = 3,           /* the model file is malformed or misses a tensor / key */
  TRIAGE_E_UNSUPPORTED = 4,      /* valid but not supported here (architecture, ISA, dtype, ...) */
  TRIAGE_E_LIMIT = 5,            /* an argument or a model dimension is above a hard cap */
  TRIAGE_E_NOMEM = 6,            /* allocation failed, or the caller's arena is too small */
  TRIAGE_E_INTERNAL = 7,         /* a bug: please report with the message */
  TRIAGE_E_SIGNATURE = 8         /* options.public_key is set and the file is not signed by that key:
                                    unsigned, signed by another key, or changed after signing */
} triage_status;

/* Instruction-set cap: the engine uses the best level the CPU and OS support, at most this one. */
typedef enum triage_isa {
  TRIAGE_ISA_AUTO = 0, /* best available (the TRIAGE_ISA environment variable may still cap it) */
  TRIAGE_ISA_SCALAR = 1,
  TRIAGE_ISA_AVX2 = 2, /* AVX2 + FMA */
  TRIAGE_ISA_AVX512 = 3,
  TRIAGE_ISA_AVX512_VNNI = 4,
  TRIAGE_ISA_AMX = 5,
  TRIAGE_ISA_NEON = 6 /* aarch64 Advanced SIMD */
} triage_isa;

/* Route policy, chosen at open (the arena is planned for it). */
typedef enum triage_force {
  TRIAGE_FORCE_NONE = 0,     /* the router decides (from the router.* thresholds in the file) */
  TRIAGE_FORCE_COARSE = 1,   /* every image exits after the coarse pass */
  TRIAGE_FORCE_FINE = 2,     /* every image escalates to the fine pass with K = arch.topk */
  TRIAGE_FORCE_FINE_ALL = 3  /* every image escalates, with every coarse patch re-split (K = Gc) */
} triage_force;

typedef enum triage_route { TRIAGE_ROUTE_COARSE = 0, TRIAGE_ROUTE_FINE = 1 } triage_route;

typedef enum triage_pixel { TRIAGE_PIXEL_U8 = 1, TRIAGE_PIXEL_U16 = 2 } triage_pixel;

/* Versioned by struct_size: always start from triage_options_init(&o). A caller compiled against an
 * older header passes its smaller struct_size: every published size is accepted (fields the caller's
 * struct lacks keep their defaults); a size this library does not know is TRIAGE_E_INVALID_ARGUMENT.
 * Published sizes: TRIAGE_OPTIONS_SIZE_V1 (threads .. flags), TRIAGE_OPTIONS_SIZE_V2 (+ arena),
 * TRIAGE_OPTIONS_SIZE_V3 (+ public_key, weights) and sizeof(triage_options) (+ run_tasks). */

/* Caller-provided threads (triage_options.run_tasks), for firmware whose own scheduler owns every thread.
 * When a step of a pass can use n > 1 threads (2 <= n <= options.threads), the handle calls
 *   run_tasks(run_tasks_ctx, n, task, task_ctx)
 * from the thread that called triage_classify*; run_tasks must call task(task_ctx, i) exactly once for
 * every i in [0, n), on any threads, in any order, concurrently or one after another, and return only
 * when all n calls have returned. task never blocks, never allocates and never calls into this API; it
 * returns when its share of the step is done. What a task computes depends only on i and n, so the
 * results are bit-identical to the built-in pool's with the same options.threads, whatever the
 * schedule. With run_tasks set the handle creates no thread at all (options.threads is then the number
 * of shares a step is split into, at most); NULL (the default) uses the built-in pool. */
typedef void (*triage_task_fn)(void* task_ctx, uint32_t index);
typedef void (*triage_run_tasks_fn)(void* run_tasks_ctx, uint32_t n, triage_task_fn task, void* task_ctx);

typedef struct triage_options {
  uint32_t struct_size; /* sizeof(triage_options) */
  uint32_t threads;     /* 1..TRIAGE_MAX_THREADS; 1 = run on the calling thread only */
  uint32_t isa_cap;     /* triage_isa */
  uint32_t max_batch;   /* 1..TRIAGE_MAX_BATCH: largest n accepted by triage_classify_batch */
  uint32_t force;       /* triage_force */
  uint32_t flags;       /* TRIAGE_OPEN_* bits (0 by default; unknown bits are an error) */
  void* arena;          /* caller memory (64-byte aligned) for the handle, its result rows and all
                           activations, and the open's scratch before them; or NULL (the heap) */
  size_t arena_size;    /* bytes at arena; at least triage_arena_size() */
  const uint8_t* public_key; /* 32-byte Ed25519 public key, or NULL. Set: open (and triage_arena_size)
                                accept only a file signed by this key (`triage sign`), verified over every
                                byte before anything else is parsed; anything else is TRIAGE_E_SIGNATURE
                                (TRIAGE_E_UNSUPPORTED in a build without libsodium). NULL: no check; a
                                signed file opens as its unsigned model. */
  void* weights;             /* caller memory (64-byte aligned) for the model's names, tables and packed
                                weights, or NULL (the heap). Never written after open; must stay valid
                                and untouched until triage_close. With arena and weights both given (and
                                threads 1 or run_tasks set), open, classify and close make no heap
                                allocation. */
  size_t weights_size;       /* bytes at weights; at least triage_weights_size() */
  triage_run_tasks_fn run_tasks; /* caller-provided threads (above), or NULL for the built-in pool */
  void* run_tasks_ctx;           /* passed to run_tasks unchanged */
} triage_options;

/* triage_options.flags.
 * TRIAGE_OPEN_ALLOW_UNCALIBRATED: decide with the thresholds of a file whose router is not calibrated
 * (router.calibrated = 0: converted without `triage calibrate`, adapted, or calibrated for another dtype).
 * Without it such a file is fail-safe: it never decides its good class (no good exit at the coarse pass,
 * no good decision at the fine pass); an image it would have called good is decided as its most probable
 * defect class with review = 1, and triage_model_info.fail_safe is 1. Calibrated files ignore the bit. */
#define TRIAGE_OPEN_ALLOW_UNCALIBRATED 1u

typedef struct triage_image {
  const void* data;  /* first pixel of row 0; rows of width * channels interleaved samples */
  uint32_t pixel;    /* triage_pixel: u8 or u16 (native byte order) */
  uint32_t height;   /* 1..TRIAGE_MAX_IMAGE_SIDE */
  uint32_t width;    /* 1..TRIAGE_MAX_IMAGE_SIDE */
  uint32_t channels; /* must equal the model's input channels */
  size_t row_stride; /* bytes from one row to the next, >= width * channels * sample bytes */
} triage_image;

typedef struct triage_result {
  int32_t class_index;        /* index into the model's class list */
  const char* class_name;     /* model-owned, valid until triage_close */
  float confidence;           /* probability of class_index */
  const float* probabilities; /* num_classes values, model-owned, valid until the next classify call */
  uint32_t route;             /* triage_route taken */
  uint32_t review;            /* 1 when confidence < the decided class's review threshold: a human should look */
  uint32_t tokens;            /* tokens processed: coarse pass + fine pass (CLS tokens included; with token skipping a pass's
                                 tokens per block, averaged over its blocks and rounded) */
  float coarse_us;            /* wall time of preprocessing + coarse pass (per image in a batch) */
  float fine_us;              /* wall time of the fine pass, 0 when not escalated (per image) */
  uint32_t unknown;           /* 1: out of distribution: an OOD score (triage_get_ood_scores) lies outside the
                                 file's calibrated range (router.ood_*): the image is unlike the training data
                                 and the decision is not to be trusted. Always 0 for a file without OOD
                                 thresholds. (Sits in what was tail padding: sizeof(triage_result) is
                                 unchanged.) */
} triage_result;

/* Versioned by struct_size (set by the caller): any size from TRIAGE_MODEL_INFO_SIZE_MIN (struct_size and
 * model_name) to sizeof(triage_model_info), a multiple of 8, is accepted and exactly that many bytes are
 * written (an older caller's struct is filled up to its end, never past it). Its strings and class_names
 * belong to the model: valid until triage_close (copy what must outlive it). */
typedef struct triage_model_info {
  uint32_t struct_size;          /* sizeof(triage_model_info), set by the caller */
  const char* model_name;        /* model.name */
  const char* arch;              /* "cfvit" or "vit" */
  const char* weight_dtype;      /* "f32", "f16", "bf16" or "q8" (as stored in the file) */
  const char* isa;               /* ISA the kernels run: "scalar", "avx2", ... */
  uint32_t num_classes;
  int32_t good_class;            /* index of the "no defect" class; -1: the model has none (no good exit) */
  const char* const* class_names;/* num_classes names, model-owned */
  uint32_t in_channels;
  uint32_t img_full;             /* Sf */
  uint32_t img_coarse;           /* Sc (0 for vit) */
  double max_value_u8, max_value_u16, mean, std; /* input normalisation */
  uint32_t tokens_coarse;        /* 1 + Gc (0 for vit; with token skipping the mean per block) */
  uint32_t tokens_fine;          /* 1 + Gc + 3K for cfvit (arch.keep_fine: fewer), 1 + (Sf/P)^2 for vit */
  uint32_t topk;                 /* K */
  uint32_t threads;
  uint32_t max_batch;
  uint32_t force;                /* triage_force */
  size_t arena_bytes;            /* arena memory the open took: handle, result rows, activations (and,
                                    during open, its scratch): triage_arena_size() */
  size_t weight_bytes;           /* weights memory the open took: model names, tables, packed weights:
                                    triage_weights_size() */
  int32_t router_calibrated;
  double coarse_good_threshold, coarse_defect_threshold, fine_good_threshold, review_threshold;
  uint32_t embed_dim;            /* D: floats per feature vector of triage_get_features */
  uint32_t fail_safe;            /* 1: router not calibrated and TRIAGE_OPEN_ALLOW_UNCALIBRATED not set:
                                    the good class is never decided (the thresholds above are the file's) */
  const double* class_review_thresholds; /* num_classes review thresholds (router.class_review_thresholds),
                                            model-owned; NULL: review_threshold for every class */
  uint32_t ood_enabled;          /* 1: the file has OOD thresholds (result.unknown can be 1) */
  double ood_coarse_threshold, ood_fine_threshold; /* energy above which a coarse / fine decision is unknown */
  double ood_input_mean_lo, ood_input_mean_hi;     /* input mean outside [lo, hi]: unknown */
  double ood_input_std_lo, ood_input_std_hi;       /* input standard deviation outside [lo, hi]: unknown */
  double ood_false_flag_rate;    /* the in-distribution false-flag rate they were calibrated to (0: not stated) */
} triage_model_info;

#define TRIAGE_OPTIONS_SIZE_V1 24u   /* offsetof(triage_options, arena): the layout before caller arenas */
#define TRIAGE_OPTIONS_SIZE_V2 40u   /* offsetof(triage_options, public_key): before signed models (LP64) */
#define TRIAGE_OPTIONS_SIZE_V3 64u   /* offsetof(triage_options, run_tasks): before caller threads (LP64) */
#define TRIAGE_MODEL_INFO_SIZE_MIN 16u

typedef struct triage_model triage_model;

/* Fills defaults: threads 1, isa AUTO, max_batch 1, force NONE, no caller memory, no required key,
 * the built-in thread pool. */
void triage_options_init(triage_options* opts);

/* Bytes of arena memory (options.arena) an open of the model at (data, size) with these options takes:
 * the handle, the result rows of max_batch images and the activations of one chunk of at most 8 images
 * (threads, max_batch, force and the ISA matter), or, if more, what the open needs there before the
 * first classify: the parse's tables, the weight conversion buffer, and a 64-byte aligned copy of the
 * model when data is not 64-byte aligned (pass the same bytes to the open). The same number
 * triage_model_info.arena_bytes reports after open. It validates and packs the model like an open
 * (then frees it), so call it at initialisation, not per image. */
triage_status triage_arena_size(const void* data, size_t size, const triage_options* opts,
                                size_t* out_bytes);

/* Bytes of weights memory (options.weights) an open with these options takes: the model's names, its
 * tables and the packed weights (the ISA matters; the other memory fields are ignored). The same number
 * triage_model_info.weight_bytes reports after open. It validates and packs the model like an open
 * (then frees it). */
triage_status triage_weights_size(const void* data, size_t size, const triage_options* opts,
                                  size_t* out_bytes);

/* Opens a model from a memory span (the span may be freed once this returns) or from a file. opts may
 * be NULL (defaults). On failure *out is NULL and triage_open_error() says why. */
triage_status triage_open_memory(const void* data, size_t size, const triage_options* opts,
                                 triage_model** out);
triage_status triage_open_file(const char* path, const triage_options* opts, triage_model** out);

/* The message of the last failed triage_open_* / triage_arena_size on the calling thread ("" if none). */
const char* triage_open_error(void);

triage_status triage_classify(triage_model* model, const triage_image* image, triage_result* out);

/* n images, 1..max_batch. Coarse pass on all, fine pass on the escalated ones as one dense sub-batch,
 * results in input order. Each result equals what triage_classify gives for that image (timings aside).
 * results[i].probabilities stay valid until the next classify call. */
triage_status triage_classify_batch(triage_model* model, const triage_image* images, size_t n,
                                    triage_result* results);

triage_status triage_get_info(const triage_model* model, triage_model_info* out);

/* The features image `index` of the last classify call fed to the head in pass `route`: the class
 * token after the final LayerNorm, in f32 (count must equal model_info.embed_dim). The coarse pass's
 * features exist for every image of a cfvit; the fine pass's only for escalated images (all of them
 * under TRIAGE_FORCE_FINE / FINE_ALL); a vit has only the fine pass. TRIAGE_E_UNSUPPORTED when the image
 * did not run that pass. For head adaptation (triage adapt) and feature-space scores. */
triage_status triage_get_features(const triage_model* model, size_t index, uint32_t route, float* out,
                                  size_t count);

/* The out-of-distribution scores of image `index` of the last classify call (count must be
 * TRIAGE_OOD_SCORES): out[0] the free energy -log(sum_i exp(logit_i)) of the logits of the pass that
 * decided it (higher: less like the training data); out[1], out[2] the mean and the standard deviation
 * of the input's samples scaled by the model's max_value (all channels, over a fixed grid of at most
 * 64 x 64 pixels). result.unknown is 1 when the energy is above the file's threshold for the deciding
 * pass, or the mean or the deviation lies outside the file's calibrated range. For calibration
 * (triage calibrate --ood-false-flag) and evaluation. */
#define TRIAGE_OOD_SCORES 3u
triage_status triage_get_ood_scores(const triage_model* model, size_t index, float* out, size_t count);

/* The message of the last failed call on this handle ("" if the last call succeeded). */
const char* triage_last_error(const triage_model* model);

void triage_close(triage_model* model); /* NULL is a no-op */

const char* triage_status_name(triage_status s); /* "OK", "INVALID_ARGUMENT", ... */
const char* triage_isa_name(triage_isa isa);     /* "auto", "scalar", "avx2", ... */
/* Parses an ISA name ("auto", "scalar", "avx2", "avx512", "avx512_vnni", "amx", "neon"); -1 if unknown. */
int triage_isa_from_name(const char* name);
const char* triage_version(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRIAGE_H_ */
