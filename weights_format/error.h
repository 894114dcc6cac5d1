// Filling a trw::Error: every message names the field and ends with the byte offset it refers to.
#pragma once

#include <string>

#include "weights_format/trw.h"

namespace triage::trw {

// Sets err (message: "<what> at offset <offset>") and returns false, so callers can `return fail(...)`.
bool fail(Error& err, Errc code, uint64_t offset, const std::string& what);

}  // namespace triage::trw
