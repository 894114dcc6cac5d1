// The library's version string, from the CMake project version.
#include "runtime/version.h"

namespace triage {
const char* version_string() { return TRIAGE_VERSION_STRING; }
}  // namespace triage
