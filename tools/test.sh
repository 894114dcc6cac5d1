#!/usr/bin/env bash
# Builds triage and runs every test: the normal build (all tests), then an ASan+UBSan build of the
# file-format, converter and fuzz-corpus tests (the parsers that read outside input).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
{ ctest --test-dir build -j"$jobs" --output-on-failure || true; } 2>&1 | tee build/ctest.log | tail -n 40
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAGE_SANITIZE=ON -DTRIAGE_BUILD_BENCH=OFF \
  -DTRIAGE_CUDA=OFF -DTRIAGE_CONVERT_MODELS=ON >/dev/null
san_targets=$(cmake --build build-asan --target help | awk '/^\.\.\. (test_format|test_convert|replay_)/{print $2}')
cmake --build build-asan -j"$jobs" --target triage_cli models $san_targets
# Exported: a prefix assignment cannot precede a { } group.
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
{ ctest --test-dir build-asan -j"$jobs" -L "format|convert|fuzz" --output-on-failure || true; } 2>&1 \
  | tee build-asan/ctest.log | tail -n 20
echo "== summary =="
echo "normal:     $(grep -E 'tests passed|tests failed' build/ctest.log | tail -n1)"
echo "asan+ubsan: $(grep -E 'tests passed|tests failed' build-asan/ctest.log | tail -n1)"
grep -qE '^100% tests passed' build/ctest.log && grep -qE '^100% tests passed' build-asan/ctest.log
