// Fuzz target for the whole open path (issue 15): triage_open_memory on arbitrary bytes (format,
// configuration keys, tensor binding, packing, router keys), then, when a model opens, one classify of a
// small image with the model's channel count and one forced-fine classify, then close. Invariants: an
// open either succeeds with a handle or fails with a non-OK status, a NULL handle and a message; a
// classify on an opened model returns OK or a status with a message, and an OK result names a class.
// With a required public key whose secret nobody has, every input is refused as TRIAGE_E_SIGNATURE
// (the signature is checked before any model byte is parsed), or UNSUPPORTED in a build without libsodium.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "runtime/triage.h"

#define TRIAGE_FUZZ_TARGET "fuzz_open"
#include "tests/fuzz/fuzz_check.h"

namespace {

void classify_once(triage_model* m, uint32_t channels) {
  static uint8_t pixels[3 * 40 * 37];
  for (size_t i = 0; i < sizeof pixels; ++i) pixels[i] = static_cast<uint8_t>(i * 37 + 11);
  triage_image img{pixels, TRIAGE_PIXEL_U8, 40, 37, channels, size_t(37) * channels};
  triage_result r;
  const triage_status s = triage_classify(m, &img, &r);
  if (s == TRIAGE_OK) {
    FUZZ_CHECK(r.class_name != nullptr && r.class_index >= 0, "an OK result names a class");
    FUZZ_CHECK(r.confidence >= 0.f && r.confidence <= 1.f, "confidence is a probability");
  } else {
    FUZZ_CHECK(triage_last_error(m)[0] != 0, "a failed classify has a message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    static const uint8_t kNobodysKey[32] = {0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a,
                                            0xa7, 0x4d, 0x1b, 0x7e, 0xbc, 0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4,
                                            0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c};
    triage_options o;
    triage_options_init(&o);
    o.public_key = kNobodysKey;
    triage_model* m = reinterpret_cast<triage_model*>(1);
    const triage_status s = triage_open_memory(data, size, &o, &m);
    FUZZ_CHECK(s == TRIAGE_E_SIGNATURE || s == TRIAGE_E_UNSUPPORTED || (s == TRIAGE_E_INVALID_ARGUMENT && size == 0),
               "with a required key nothing opens and every refusal is a signature refusal");
    FUZZ_CHECK(m == nullptr, "a failed open leaves a NULL handle");
  }
  for (uint32_t force : {uint32_t(TRIAGE_FORCE_NONE), uint32_t(TRIAGE_FORCE_FINE)}) {
    triage_options o;
    triage_options_init(&o);
    o.force = force;
    triage_model* m = reinterpret_cast<triage_model*>(1);
    const triage_status s = triage_open_memory(data, size, &o, &m);
    if (s != TRIAGE_OK) {
      FUZZ_CHECK(m == nullptr, "a failed open leaves a NULL handle");
      FUZZ_CHECK(triage_open_error()[0] != 0, "a failed open has a message");
      return 0;  // the second option set would fail the same way
    }
    FUZZ_CHECK(m != nullptr, "an OK open gives a handle");
    triage_model_info info{};
    info.struct_size = sizeof info;
    FUZZ_CHECK(triage_get_info(m, &info) == TRIAGE_OK, "info of an open model");
    classify_once(m, info.in_channels);
    triage_close(m);
  }
  return 0;
}
