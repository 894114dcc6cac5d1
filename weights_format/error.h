// Filling a trw::Error: every message names the field and ends with the byte offset it refers to.
#pragma once

#include <new>
#include <string_view>

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

// Sets err (message: the printf-formatted text, then " at offset <offset>") and returns false, so
// callers can `return fail(...)`. Never allocates.
__attribute__((format(printf, 4, 5))) bool fail(Error& err, Errc code, uint64_t offset, const char* fmt, ...);
// Errc::NoMemory, "out of memory for the <what>" (no offset: the input may be fine).
bool no_memory(Error& err, const char* what);
// The same as fail with a message built by the caller (the writer's and the tools' paths, which build
// std::string messages; the reader uses fail).
bool fail_text(Error& err, Errc code, uint64_t offset, std::string_view what);

}  // namespace triage::trw
