// The CUDA C API (runtime/triage_cuda.h): argument checks, exception firewall, error messages. The work
// is in CudaEngine.
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <new>

#include "runtime/cuda/engine.h"
#include "runtime/triage_cuda.h"
#include "weights_format/trw.h"

struct triage_cuda_model {
  triage::rt::gpu::CudaEngine engine;
};

namespace {

using triage::rt::Error;

thread_local char g_open_error[512] = "";

void set_open_error(const Error& e) { std::snprintf(g_open_error, sizeof(g_open_error), "%s", e.message); }

template <typename F>
triage_status guarded(Error& err, F&& fn) {
  try {
    fn();
  } catch (const std::bad_alloc&) {
    err.set(TRIAGE_E_NOMEM, "out of memory");
  } catch (const std::exception& e) {
    err.set(TRIAGE_E_INTERNAL, "internal error: %s", e.what());
  } catch (...) {
    err.set(TRIAGE_E_INTERNAL, "internal error: unknown exception");
  }
  return err.code;
}

triage_status open_span(const void* data, size_t size, const triage_cuda_options* opts, triage_cuda_model** out) {
  Error err;
  if (!out) {
    err.set(TRIAGE_E_INVALID_ARGUMENT, "out is NULL");
    set_open_error(err);
    return err.code;
  }
  *out = nullptr;
  triage_cuda_model* m = nullptr;
  guarded(err, [&] {
    triage_cuda_options o;
    triage_cuda_options_init(&o);
    if (!data || size == 0) {
      err.set(TRIAGE_E_INVALID_ARGUMENT, "model data is NULL or empty");
      return;
    }
    if (opts) {
      if (opts->struct_size != sizeof(triage_cuda_options)) {
        err.set(TRIAGE_E_INVALID_ARGUMENT, "options.struct_size %u != %zu (use triage_cuda_options_init)",
                opts->struct_size, sizeof(triage_cuda_options));
        return;
      }
      o = *opts;
    }
    m = new triage_cuda_model;
    m->engine.load({static_cast<const uint8_t*>(data), size}, o, err);
  });
  if (err) {
    delete m;
    set_open_error(err);
    return err.code;
  }
  g_open_error[0] = '\0';
  *out = m;
  return TRIAGE_OK;
}

triage_status classify(triage_cuda_model* model, const triage_image* images, size_t n, triage_result* results,
                       bool device_input) {
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
  return guarded(err, [&] { model->engine.classify(images, static_cast<int>(n), device_input, results, err); });
}

}  // namespace

extern "C" {

void triage_cuda_options_init(triage_cuda_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof(*o));
  o->struct_size = sizeof(triage_cuda_options);
  o->device = 0;
  o->max_batch = 1;
  o->force = TRIAGE_FORCE_NONE;
  o->max_image_bytes = 4u << 20;
}

int triage_cuda_device_count(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

triage_status triage_cuda_open_memory(const void* data, size_t size, const triage_cuda_options* opts,
                                      triage_cuda_model** out) {
  return open_span(data, size, opts, out);
}

triage_status triage_cuda_open_file(const char* path, const triage_cuda_options* opts, triage_cuda_model** out) {
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
      err.set(te.code == triage::trw::Errc::Io ? TRIAGE_E_IO : TRIAGE_E_LIMIT, "%s: %s", path, te.message.c_str());
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

const char* triage_cuda_open_error(void) { return g_open_error; }

triage_status triage_cuda_classify(triage_cuda_model* model, const triage_image* image, triage_result* out) {
  return classify(model, image, 1, out, false);
}

triage_status triage_cuda_classify_batch(triage_cuda_model* model, const triage_image* images, size_t n,
                                         triage_result* results) {
  return classify(model, images, n, results, false);
}

triage_status triage_cuda_classify_batch_device(triage_cuda_model* model, const triage_image* images, size_t n,
                                                triage_result* results) {
  return classify(model, images, n, results, true);
}

triage_status triage_cuda_get_info(const triage_cuda_model* model, triage_model_info* out) {
  if (!model || !out || out->struct_size != sizeof(triage_model_info)) return TRIAGE_E_INVALID_ARGUMENT;
  model->engine.info(*out);
  return TRIAGE_OK;
}

triage_status triage_cuda_get_device_info(const triage_cuda_model* model, triage_cuda_info* out) {
  if (!model || !out || out->struct_size != sizeof(triage_cuda_info)) return TRIAGE_E_INVALID_ARGUMENT;
  model->engine.device_info(*out);
  return TRIAGE_OK;
}

const char* triage_cuda_last_error(const triage_cuda_model* model) {
  return model ? model->engine.last_error.message : "model is NULL";
}

void triage_cuda_close(triage_cuda_model* model) { delete model; }

}  // extern "C"
