// Counts heap allocations (malloc family and operator new) of every thread of the test binary while
// counting is on (and the bytes they ask for); used to prove that classifying never allocates and
// what an open still takes from the heap.
#pragma once

#include <cstdint>

namespace triage::test {
void alloc_counting(bool on);
uint64_t alloc_count();
uint64_t alloc_bytes();    // bytes requested while counting
uint64_t alloc_largest();  // the largest single request while counting
}  // namespace triage::test
