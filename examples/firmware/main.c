/* Firmware integration example (C99): the model is embedded in the binary, opened from memory, with a
 * caller-provided activation arena from a static pool; images arrive as raw pixel buffers (here read
 * from NumPy .npy files of uint8 / uint16 pixels, the wafer maps' format, by a 50-line reader: firmware
 * would hand over its frame buffer instead). Prints one line per image:
 *   <path> <class> <confidence> <route> <review>
 * Usage: firmware_demo [--threads N] IMAGE.npy...
 * Built with -DTRIAGE_PUBLIC_KEY=<64 hex digits> (the .pub of `triage keygen`), the program pins that
 * release key: it opens only a model signed by it (`triage sign`), as a fab's tools should.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <triage.h>

extern const unsigned char triage_model_blob[];
extern const unsigned char triage_model_blob_end[];

/* The activation arena: static, sized for the example's models; the program checks it is enough. */
#define ARENA_BYTES (16u << 20)
static unsigned char arena[ARENA_BYTES] __attribute__((aligned(64)));

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
  size_t need = 0, size = (size_t)(triage_model_blob_end - triage_model_blob);
  int i = 1, failures = 0;
  triage_status s;
  static uint8_t key[32];
  triage_options_init(&o);
  if (pinned_key(key)) o.public_key = key;
  if (argc > 2 && strcmp(argv[1], "--threads") == 0) {
    o.threads = (uint32_t)atoi(argv[2]);
    i = 3;
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
  o.arena = arena;
  o.arena_size = ARENA_BYTES;
  s = triage_open_memory(triage_model_blob, size, &o, &model);
  if (s != TRIAGE_OK) {
    fprintf(stderr, "triage_open_memory: %s: %s\n", triage_status_name(s), triage_open_error());
    return 1;
  }
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  triage_get_info(model, &info);
  fprintf(stderr, "firmware_demo: triage %s, model %s (%zu bytes embedded%s), isa %s, arena %zu of %u bytes\n",
          triage_version(), info.model_name, size, o.public_key ? ", signature verified" : "", info.isa, need, ARENA_BYTES);
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
  return failures ? 1 : 0;
}
