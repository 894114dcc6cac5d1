// Lets gtest print trw::Errc values by name in assertion failures.
#pragma once

#include <ostream>

#include "weights_format/trw.h"

namespace triage::trw {

inline void PrintTo(Errc c, std::ostream* os) { *os << errc_name(c); }

}  // namespace triage::trw
