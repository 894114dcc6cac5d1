// Filling a trw::Error: every message names the field and ends with the byte offset it refers to.
#pragma once

#include <new>
#include <string>

#include "weights_format/trw.h"

// try / catch (std::bad_alloc) that compile to `if (true) {...} else {...}` in a build without exceptions
// (-fno-exceptions, TRIAGE_NO_EXCEPTIONS), where there is nothing to catch.
#if defined(__cpp_exceptions)
#define TRIAGE_TRY try
#define TRIAGE_CATCH_BAD_ALLOC catch (const std::bad_alloc&)
#else
#define TRIAGE_TRY if (true)
#define TRIAGE_CATCH_BAD_ALLOC else
#endif

namespace triage::trw {

// Sets err (message: "<what> at offset <offset>") and returns false, so callers can `return fail(...)`.
bool fail(Error& err, Errc code, uint64_t offset, const std::string& what);

}  // namespace triage::trw
