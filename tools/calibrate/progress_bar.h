// A one-line progress bar on stderr for long runs, redrawn at most every 1% (and at the end); shown
// only when stderr is a terminal or the user asked for it (--progress).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdio>

namespace triage::calib {

class ProgressBar {
 public:
  ProgressBar(const char* what, bool forced) : what_(what), on_(forced || ::isatty(2)) {}
  void operator()(size_t done, size_t total) {
    if (!on_ || total == 0) return;
    const size_t pct = done * 100 / total;
    if (pct == last_ && done != total) return;
    last_ = pct;
    const int filled = static_cast<int>(pct * 30 / 100);
    std::fprintf(stderr, "\r%s [%.*s%*s] %3zu%% %zu/%zu", what_, filled, "##############################", 30 - filled, "",
                 pct, done, total);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  const char* what_;
  bool on_;
  size_t last_ = SIZE_MAX;
};

}  // namespace triage::calib
