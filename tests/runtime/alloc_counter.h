// Counts heap allocations (malloc family and operator new) of every thread of the test binary while
// counting is on; used to prove that classifying never allocates.
#pragma once

#include <cstdint>

namespace triage::test {
void alloc_counting(bool on);
uint64_t alloc_count();
}  // namespace triage::test
