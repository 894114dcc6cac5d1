// The C API (triage.h): argument checks, exception firewall, error messages. Everything else is in
// Engine.
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <new>

#include "kernels/cpu/kernels.h"
#include "runtime/engine.h"
#include "runtime/op_profile_access.h"
#include "runtime/model_router.h"
#include "runtime/triage.h"
#include "runtime/version.h"
#include "weights_format/trw.h"

// The handle lives at the start of the arena memory: the caller's (options.arena) or the heap's.
struct triage_model {
  triage::rt::Engine engine;
  bool heap = true;  // allocated from the heap (triage_close frees it) or in the caller's arena
};

namespace {

using triage::rt::Error;

// Message of the last failed open on this thread (no allocation: a fixed buffer).
thread_local char g_open_error[512] = "";

void set_open_error(const Error& e) { std::snprintf(g_open_error, sizeof(g_open_error), "%s", e.message); }

bool resolve_options(const triage_options* in, triage_options& out, Error& err) {
  triage_options_init(&out);
  if (!in) return true;
  if (in->struct_size != sizeof(triage_options) && in->struct_size != TRIAGE_OPTIONS_SIZE_V1 &&
      in->struct_size != TRIAGE_OPTIONS_SIZE_V2 && in->struct_size != TRIAGE_OPTIONS_SIZE_V3)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.struct_size %u is not a published size (%u, %u, %u or %zu; use triage_options_init)",
                   in->struct_size, TRIAGE_OPTIONS_SIZE_V1, TRIAGE_OPTIONS_SIZE_V2, TRIAGE_OPTIONS_SIZE_V3,
                   sizeof(triage_options));
  // An older caller's struct: its fields over the defaults, the rest stays default. struct_size then
  // says what this library's struct is, so the engine sees one layout.
  std::memcpy(&out, in, in->struct_size);
  out.struct_size = sizeof(triage_options);
  return true;
}

// Runs fn, turning any escaping exception into a status (nothing may cross the C boundary). In a build
// without exceptions (TRIAGE_NO_EXCEPTIONS: -fno-exceptions -fno-rtti) there is nothing to catch.
template <typename F>
triage_status guarded(Error& err, F&& fn) {
#if defined(__cpp_exceptions)
  try {
    fn();
  } catch (const std::bad_alloc&) {
    err.set(TRIAGE_E_NOMEM, "out of memory");
  } catch (const std::exception& e) {
    err.set(TRIAGE_E_INTERNAL, "internal error: %s", e.what());
  } catch (...) {
    err.set(TRIAGE_E_INTERNAL, "internal error: unknown exception");
  }
#else
  fn();
#endif
  return err.code;
}

// Ends a handle's life: its own memory goes back to the heap when it came from there.
void destroy(triage_model* m) {
  if (!m) return;
  const bool heap = m->heap;
  m->~triage_model();
  if (heap) std::free(m);
}

triage_status open_span(const void* data, size_t size, const triage_options* opts, triage_model** out) {
  Error err;
  if (!out) {
    err.set(TRIAGE_E_INVALID_ARGUMENT, "out is NULL");
    set_open_error(err);
    return err.code;
  }
  *out = nullptr;
  triage_model* m = nullptr;
  guarded(err, [&] {
    triage_options o;
    if (!data || size == 0) {
      err.set(TRIAGE_E_INVALID_ARGUMENT, "model data is NULL or empty");
      return;
    }
    if (!resolve_options(opts, o, err) || !triage::rt::Engine::check_options(o, err)) return;
    // Everything an open keeps comes from these two (runtime/engine.h): with both given, no heap at all.
    triage::Region state = o.arena ? triage::Region(o.arena, o.arena_size) : triage::Region();
    triage::Region keep = o.weights ? triage::Region(o.weights, o.weights_size) : triage::Region();
    bool heap = true;
    void* mem = state.take(sizeof(triage_model), alignof(triage_model), &heap);
    if (!mem) {
      if (o.arena) err.set(TRIAGE_E_NOMEM, "options.arena_size %zu cannot hold the model handle", o.arena_size);
      else err.set(TRIAGE_E_NOMEM, "cannot allocate the model handle");
      return;
    }
    m = new (mem) triage_model;
    m->heap = heap;
    m->engine.load({static_cast<const uint8_t*>(data), size}, o, triage::rt::Engine::Mode::Open, err, state, keep);
  });
  if (err) {
    destroy(m);
    set_open_error(err);
    return err.code;
  }
  g_open_error[0] = '\0';
  *out = m;
  return TRIAGE_OK;
}

// triage_arena_size / triage_weights_size: a load that stops after sizing, with no caller memory.
triage_status size_of(const void* data, size_t size, const triage_options* opts, size_t* out_bytes,
                      triage::rt::Engine::Mode mode) {
  Error err;
  guarded(err, [&] {
    triage_options o;
    if (!out_bytes || !data || size == 0) {
      err.set(TRIAGE_E_INVALID_ARGUMENT, "data, size and out_bytes must be non-null / non-zero");
      return;
    }
    *out_bytes = 0;
    if (!resolve_options(opts, o, err)) return;
    // The caller's memory is not needed to size it: measuring regions, the handle counted first as an
    // open takes it.
    o.arena = o.weights = nullptr;
    o.arena_size = o.weights_size = 0;
    triage::Region state, keep;
    state.reserve(sizeof(triage_model), alignof(triage_model));
    triage::rt::Engine e;
    if (e.load({static_cast<const uint8_t*>(data), size}, o, mode, err, state, keep))
      *out_bytes = mode == triage::rt::Engine::Mode::ArenaSize ? e.arena_bytes() : e.weights_bytes();
  });
  if (err) set_open_error(err);
  return err.code;
}

// A query about the last classify call into caller memory: the handle's error set and returned.
template <class Query>
triage_status query_last_call(const triage_model* model, const float* out, Query&& query) {
  if (!model) return TRIAGE_E_INVALID_ARGUMENT;
  Error& err = const_cast<triage_model*>(model)->engine.last_error;
  err.clear();
  if (!out) err.set(TRIAGE_E_INVALID_ARGUMENT, "out must not be NULL");
  else query(model->engine, err);
  return err.code;
}

}  // namespace

extern "C" {

void triage_options_init(triage_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof(*o));
  o->struct_size = sizeof(triage_options);
  o->threads = 1;
  o->isa_cap = TRIAGE_ISA_AUTO;
  o->max_batch = 1;
  o->force = TRIAGE_FORCE_NONE;
}

triage_status triage_arena_size(const void* data, size_t size, const triage_options* opts, size_t* out_bytes) {
  return size_of(data, size, opts, out_bytes, triage::rt::Engine::Mode::ArenaSize);
}

triage_status triage_weights_size(const void* data, size_t size, const triage_options* opts, size_t* out_bytes) {
  return size_of(data, size, opts, out_bytes, triage::rt::Engine::Mode::WeightsSize);
}

triage_status triage_open_memory(const void* data, size_t size, const triage_options* opts, triage_model** out) {
  return open_span(data, size, opts, out);
}

triage_status triage_open_file(const char* path, const triage_options* opts, triage_model** out) {
  Error err;
  triage_status st = TRIAGE_OK;
  guarded(err, [&] {
    if (!path) {
      err.set(TRIAGE_E_INVALID_ARGUMENT, "path is NULL");
      return;
    }
    triage::trw::Buffer buf;
    triage::trw::Error te;
    if (!buf.read_file(path, te)) {
      // The reader's message names the path.
      err.set(triage::rt::map_trw(te.code), "%s", te.message.c_str());
      return;
    }
    st = open_span(buf.span().data(), buf.span().size(), opts, out);
  });
  if (err) {
    if (out) *out = nullptr;
    set_open_error(err);
    return err.code;
  }
  return st;
}

const char* triage_open_error(void) { return g_open_error; }

triage_status triage_classify(triage_model* model, const triage_image* image, triage_result* out) {
  return triage_classify_batch(model, image, 1, out);
}

triage_status triage_classify_batch(triage_model* model, const triage_image* images, size_t n,
                                    triage_result* results) {
  if (!model) return TRIAGE_E_INVALID_ARGUMENT;
  Error& err = model->engine.last_error;
  err.clear();
  if (!images || !results) {
    err.set(TRIAGE_E_INVALID_ARGUMENT, "images and results must not be NULL");
    return err.code;
  }
  if (n == 0 || n > TRIAGE_MAX_BATCH) {
    err.set(n ? TRIAGE_E_LIMIT : TRIAGE_E_INVALID_ARGUMENT, "batch of %zu images (allowed 1..max_batch)", n);
    return err.code;
  }
  return guarded(err, [&] { model->engine.classify(images, static_cast<int>(n), results, err); });
}

static_assert(TRIAGE_OPTIONS_SIZE_V1 == offsetof(triage_options, arena), "published options size V1");
static_assert(TRIAGE_OPTIONS_SIZE_V2 == offsetof(triage_options, public_key), "published options size V2");
static_assert(TRIAGE_OPTIONS_SIZE_V3 == offsetof(triage_options, run_tasks), "published options size V3");
static_assert(TRIAGE_MODEL_INFO_SIZE_MIN == offsetof(triage_model_info, model_name) + sizeof(const char*), "info size");

triage_status triage_get_info(const triage_model* model, triage_model_info* out) {
  if (!model || !out) return TRIAGE_E_INVALID_ARGUMENT;
  const uint32_t size = out->struct_size;
  if (size < TRIAGE_MODEL_INFO_SIZE_MIN || size > sizeof(triage_model_info) || size % 8 != 0)
    return TRIAGE_E_INVALID_ARGUMENT;
  triage_model_info full{};
  full.struct_size = sizeof(full);
  model->engine.info(full);
  full.struct_size = size;
  std::memcpy(out, &full, size);  // an older caller's struct: filled to its end, never past it
  return TRIAGE_OK;
}


triage_status triage_get_features(const triage_model* model, size_t index, uint32_t route, float* out,
                                  size_t count) {
  return query_last_call(model, out, [&](const triage::rt::Engine& e, Error& err) { e.features(index, route, out, count, err); });
}

triage_status triage_get_ood_scores(const triage_model* model, size_t index, float* out, size_t count) {
  return query_last_call(model, out, [&](const triage::rt::Engine& e, Error& err) { e.ood_scores(index, out, count, err); });
}

const char* triage_last_error(const triage_model* model) {
  return model ? model->engine.last_error.message : "model is NULL";
}

void triage_close(triage_model* model) { destroy(model); }

const char* triage_status_name(triage_status s) {
  switch (s) {
    case TRIAGE_OK: return "OK";
    case TRIAGE_E_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case TRIAGE_E_IO: return "IO";
    case TRIAGE_E_FORMAT: return "FORMAT";
    case TRIAGE_E_UNSUPPORTED: return "UNSUPPORTED";
    case TRIAGE_E_LIMIT: return "LIMIT";
    case TRIAGE_E_NOMEM: return "NOMEM";
    case TRIAGE_E_INTERNAL: return "INTERNAL";
    case TRIAGE_E_SIGNATURE: return "SIGNATURE";
  }
  return "UNKNOWN";
}

const char* triage_isa_name(triage_isa isa) {
  switch (isa) {
    case TRIAGE_ISA_AUTO: return "auto";
    case TRIAGE_ISA_SCALAR: return "scalar";
    case TRIAGE_ISA_AVX2: return "avx2";
    case TRIAGE_ISA_AVX512: return "avx512";
    case TRIAGE_ISA_AVX512_VNNI: return "avx512_vnni";
    case TRIAGE_ISA_AMX: return "amx";
    case TRIAGE_ISA_NEON: return "neon";
  }
  return "unknown";
}

int triage_isa_from_name(const char* name) {
  if (!name) return -1;
  if (std::strcmp(name, "auto") == 0) return TRIAGE_ISA_AUTO;
  if (std::strcmp(name, "avx512_vnni") == 0) return TRIAGE_ISA_AVX512_VNNI;
  triage::kernels::Isa k;
  if (!triage::kernels::parse_isa(name, &k)) return -1;
  switch (k) {
    case triage::kernels::Isa::Scalar: return TRIAGE_ISA_SCALAR;
    case triage::kernels::Isa::Avx2: return TRIAGE_ISA_AVX2;
    case triage::kernels::Isa::Avx512: return TRIAGE_ISA_AVX512;
    case triage::kernels::Isa::Avx512Vnni: return TRIAGE_ISA_AVX512_VNNI;
    case triage::kernels::Isa::Amx: return TRIAGE_ISA_AMX;
    case triage::kernels::Isa::Neon: return TRIAGE_ISA_NEON;
  }
  return -1;
}

const char* triage_version(void) { return triage::version_string(); }

}  // extern "C"

namespace triage::rt {

void attach_op_profile(triage_model* model, OpProfile* profile) {
  if (model) model->engine.set_profile(profile);
}

}  // namespace triage::rt
