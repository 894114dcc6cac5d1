// Attaching an OpProfile to an open handle (benchmarks only: bench_e2e --breakdown; not part of the C
// API). The profile must outlive the handle's classify calls; nullptr detaches it. Not for concurrent use
// with classify on the same handle.
#pragma once

#include "runtime/op_profile.h"
#include "runtime/triage.h"

namespace triage::rt {

void attach_op_profile(triage_model* model, OpProfile* profile);

}  // namespace triage::rt
