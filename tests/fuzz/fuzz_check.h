// FUZZ_CHECK(cond, what): the fuzz targets' invariant check: prints which invariant failed and aborts
// (libFuzzer reports the abort as a crash and saves the input).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                   \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "%s: invariant failed: %s (%s)\n", TRIAGE_FUZZ_TARGET, what, #cond); \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)
