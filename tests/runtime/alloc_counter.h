// Counts heap allocations (malloc family and operator new) of every thread of the test binary while
// counting is on (and the bytes they ask for); used to prove that classifying never allocates and
// what an open still takes from the heap.
#pragma once

#include <cstdint>

namespace triage::test {
// this_thread_only: count (and fail) only the calling thread's requests, so counts do not depend on
// what other threads (a worker starting up) happen to do meanwhile.
void alloc_counting(bool on, bool this_thread_only = false);
uint64_t alloc_count();
uint64_t alloc_bytes();    // bytes requested while counting
uint64_t alloc_largest();  // the largest single request while counting
// While counting: the k-th counted request (1-based, counted from alloc_counting(true)) fails; 0 = none.
void alloc_fail_at(uint64_t k);
bool alloc_failed();  // whether the request chosen by the last alloc_fail_at came and was failed
bool alloc_failure_injection();  // false where the hooks cannot fail a request (AddressSanitizer)
}  // namespace triage::test
