#pragma once

namespace triage {
// "MAJOR.MINOR.PATCH" of libtriage; also written into .trw files as converter.version.
const char* version_string();
}  // namespace triage
