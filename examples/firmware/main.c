/* Firmware integration example (C99): the model is embedded in the binary, opened from memory, with the
 * activation arena and the packed weights in static pools of the program's (after open, nothing of the
 * library's lives on the heap); images arrive as raw pixel buffers (here read
 * from NumPy .npy files of uint8 / uint16 pixels, the wafer maps' format, by a 50-line reader: firmware
 * would hand over its frame buffer instead). Prints one line per image:
 *   <path> <class> <confidence> <route> <review>
 * Usage: firmware_demo [--threads N] [--caller-threads] IMAGE.npy...
 * --caller-threads: the library creates no thread; its parallel steps run on the program's own workers
 * (a small pthread pool standing in for the firmware scheduler) through options.run_tasks.
 * Built with -DTRIAGE_PUBLIC_KEY=<64 hex digits> (the .pub of `triage keygen`), the program pins that
 * release key: it opens only a model signed by it (`triage sign`), as a fab's tools should.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <triage.h>

extern const unsigned char triage_model_blob[];
extern const unsigned char triage_model_blob_end[];

/* The arena: the handle, its result rows and the activations (the open's scratch before them); static,
 * sized for the example's models; the program checks it is enough. With the weights below as well,
 * nothing here touches the heap (worker threads aside: --caller-threads runs them on our own pool). */
#define ARENA_BYTES (16u << 20)
static unsigned char arena[ARENA_BYTES] __attribute__((aligned(64)));

/* The model's names, tables and packed weights: static as well (options.weights), never written after
 * open; triage_weights_size says how much a model needs. */
#define WEIGHTS_BYTES (16u << 20)
static unsigned char weights[WEIGHTS_BYTES] __attribute__((aligned(64)));

/* The firmware's own workers (options.run_tasks): run_tasks hands out the n shares of one step; the
 * calling thread takes shares too and returns when all n are done. */
#define MAX_WORKERS 15
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  triage_task_fn task;
  void* task_ctx;
  uint32_t n, next, finished;
  unsigned long gen;
  int stop, workers;
  pthread_t tid[MAX_WORKERS];
} fw_pool;
static fw_pool pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

/* Runs shares of the current step until none is left; called and returns with p->mu held. */
static void take_shares(fw_pool* p) {
  while (p->next < p->n) {
    const uint32_t i = p->next++;
    pthread_mutex_unlock(&p->mu);
    p->task(p->task_ctx, i);
    pthread_mutex_lock(&p->mu);
    if (++p->finished == p->n) pthread_cond_signal(&p->done);
  }
}

static void* fw_worker(void* arg) {
  fw_pool* p = (fw_pool*)arg;
  unsigned long seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->gen == seen) pthread_cond_wait(&p->go, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    take_shares(p);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void fw_run_tasks(void* ctx, uint32_t n, triage_task_fn task, void* task_ctx) {
  fw_pool* p = (fw_pool*)ctx;
  pthread_mutex_lock(&p->mu);
  p->task = task;
  p->task_ctx = task_ctx;
  p->n = n;
  p->next = 0;
  p->finished = 0;
  p->gen++;
  pthread_cond_broadcast(&p->go);
  take_shares(p);
  while (p->finished < p->n) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

static int fw_pool_start(fw_pool* p, int workers) {
  for (p->workers = 0; p->workers < workers && p->workers < MAX_WORKERS; p->workers++)
    if (pthread_create(&p->tid[p->workers], NULL, fw_worker, p) != 0) return -1;
  return 0;
}

static void fw_pool_stop(fw_pool* p) {
  int k;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (k = 0; k < p->workers; k++) pthread_join(p->tid[k], NULL);
  p->workers = 0;
}

/* Pixels of one image: static too (the largest image the example accepts); file order, then the
 * row-major interleaved order the C API reads. */
#define MAX_PIXELS (1u << 22)
static uint16_t file_order[MAX_PIXELS];
static uint16_t pixels[MAX_PIXELS];

/* The release key pinned at build time (TRIAGE_PUBLIC_KEY_HEX), as 32 bytes; 0 when none or malformed. */
static int pinned_key(uint8_t out[32]) {
#ifdef TRIAGE_PUBLIC_KEY_HEX
  const char* hex = TRIAGE_PUBLIC_KEY_HEX;
  int k;
  if (strlen(hex) != 64) return 0;
  for (k = 0; k < 32; k++) {
    unsigned v;
    if (sscanf(hex + 2 * k, "%2x", &v) != 1) return 0;
    out[k] = (uint8_t)v;
  }
  return 1;
#else
  (void)out;
  return 0;
#endif
}

/* Minimal .npy (version 1) reader: 2-D (H, W) or 3-D (H, W, C) |u1 or <u2 arrays, C or Fortran order
 * (numpy writes rotated / transposed maps in Fortran order). Returns 0 on success. */
static int read_npy(const char* path, triage_image* img) {
  FILE* f = fopen(path, "rb");
  unsigned char head[10];
  char dict[1024];
  unsigned long hlen, dims[3] = {1, 1, 1}, n = 1;
  int nd = 0, bytes, ok, fortran;
  const char *p, *q;
  if (!f) return -1;
  ok = fread(head, 1, 10, f) == 10 && memcmp(head, "\x93NUMPY", 6) == 0 && (head[6] == 1 || head[6] == 2);
  if (!ok || head[6] != 1) { fclose(f); return -1; } /* version 1: 2-byte header length */
  hlen = head[8] | (head[9] << 8);
  if (hlen >= sizeof dict || fread(dict, 1, hlen, f) != hlen) { fclose(f); return -1; }
  dict[hlen] = 0;
  fortran = strstr(dict, "'fortran_order': True") != NULL;
  if (strstr(dict, "'|u1'")) bytes = 1;
  else if (strstr(dict, "'<u2'")) bytes = 2;
  else { fclose(f); return -1; }
  p = strstr(dict, "'shape': (");
  if (!p) { fclose(f); return -1; }
  for (p += 10; nd < 3 && *p && *p != ')'; ) {
    dims[nd] = strtoul(p, (char**)&q, 10);
    if (q == p) break;
    n *= dims[nd++];
    p = q;
    while (*p == ',' || *p == ' ') p++;
  }
  if (nd < 2 || n == 0 || n > MAX_PIXELS) { fclose(f); return -1; }
  ok = fread(file_order, (size_t)bytes, n, f) == n;
  fclose(f);
  if (!ok) return -1;
  {
    const unsigned long H = dims[0], W = dims[1], C = nd == 3 ? dims[2] : 1;
    unsigned long y, x, c;
    for (y = 0; y < H; y++)
      for (x = 0; x < W; x++)
        for (c = 0; c < C; c++) {
          const unsigned long src = fortran ? y + H * (x + W * c) : (y * W + x) * C + c;
          const unsigned long dst = (y * W + x) * C + c;
          if (bytes == 1) ((unsigned char*)pixels)[dst] = ((const unsigned char*)file_order)[src];
          else pixels[dst] = file_order[src];
        }
  }
  img->data = pixels;
  img->pixel = bytes == 1 ? TRIAGE_PIXEL_U8 : TRIAGE_PIXEL_U16;
  img->height = (uint32_t)dims[0];
  img->width = (uint32_t)dims[1];
  img->channels = nd == 3 ? (uint32_t)dims[2] : 1;
  img->row_stride = (size_t)dims[1] * img->channels * (size_t)bytes;
  return 0;
}

int main(int argc, char** argv) {
  triage_options o;
  triage_model* model = NULL;
  triage_model_info info;
  size_t need = 0, wneed = 0, size = (size_t)(triage_model_blob_end - triage_model_blob);
  int i = 1, failures = 0, caller_threads = 0;
  triage_status s;
  static uint8_t key[32];
  triage_options_init(&o);
  if (pinned_key(key)) o.public_key = key;
  for (;;) {
    if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) {
      o.threads = (uint32_t)atoi(argv[i + 1]);
      i += 2;
    } else if (i < argc && strcmp(argv[i], "--caller-threads") == 0) {
      caller_threads = 1;
      i++;
    } else {
      break;
    }
  }
  if (caller_threads && o.threads > 1) {
    if (fw_pool_start(&pool, (int)o.threads - 1) != 0) {
      fprintf(stderr, "cannot start %u workers\n", o.threads - 1);
      return 1;
    }
    o.run_tasks = fw_run_tasks;
    o.run_tasks_ctx = &pool;
  }
  s = triage_arena_size(triage_model_blob, size, &o, &need);
  if (s != TRIAGE_OK) {
    fprintf(stderr, "triage_arena_size: %s: %s\n", triage_status_name(s), triage_open_error());
    return 1;
  }
  if (need > ARENA_BYTES) {
    fprintf(stderr, "the model needs %zu bytes of arena, the pool has %u\n", need, ARENA_BYTES);
    return 1;
  }
  s = triage_weights_size(triage_model_blob, size, &o, &wneed);
  if (s != TRIAGE_OK) {
    fprintf(stderr, "triage_weights_size: %s: %s\n", triage_status_name(s), triage_open_error());
    return 1;
  }
  if (wneed > WEIGHTS_BYTES) {
    fprintf(stderr, "the model needs %zu bytes of weights, the pool has %u\n", wneed, WEIGHTS_BYTES);
    return 1;
  }
  o.arena = arena;
  o.arena_size = ARENA_BYTES;
  o.weights = weights;
  o.weights_size = WEIGHTS_BYTES;
  s = triage_open_memory(triage_model_blob, size, &o, &model);
  if (s != TRIAGE_OK) {
    fprintf(stderr, "triage_open_memory: %s: %s\n", triage_status_name(s), triage_open_error());
    return 1;
  }
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  triage_get_info(model, &info);
  fprintf(stderr,
          "firmware_demo: triage %s, model %s (%zu bytes embedded%s), isa %s, arena %zu of %u bytes, weights %zu of %u "
          "bytes, %u thread(s)%s\n",
          triage_version(), info.model_name, size, o.public_key ? ", signature verified" : "", info.isa, need, ARENA_BYTES,
          wneed, WEIGHTS_BYTES, o.threads, o.run_tasks ? " (the program's own workers)" : "");
  for (; i < argc; i++) {
    triage_image img;
    triage_result r;
    if (read_npy(argv[i], &img) != 0) {
      fprintf(stderr, "%s: not a C-order u8/u16 .npy image\n", argv[i]);
      failures++;
      continue;
    }
    s = triage_classify(model, &img, &r);
    if (s != TRIAGE_OK) {
      fprintf(stderr, "%s: %s: %s\n", argv[i], triage_status_name(s), triage_last_error(model));
      failures++;
      continue;
    }
    printf("%s %s %.4f %s %s\n", argv[i], r.class_name, r.confidence, r.route == TRIAGE_ROUTE_FINE ? "fine" : "coarse",
           r.review ? "review" : "-");
  }
  triage_close(model);
  if (o.run_tasks) fw_pool_stop(&pool);
  return failures ? 1 : 0;
}
