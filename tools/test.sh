#!/usr/bin/env bash
# Builds triage and runs every test: the normal build (all tests), then an ASan+UBSan build of the
# file-format, converter and fuzz-corpus tests (the parsers that read outside input), then the aarch64
# cross build with its portable tests under qemu, and libtriage without exceptions/RTTI with those tests;
# after the normal build, the Python package (pip install .) with its tests and the Triton serving test.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
{ ctest --test-dir build -j"$jobs" --output-on-failure || true; } 2>&1 | tee build/ctest.log | tail -n 40
# The Python package (pyproject.toml: libtriage + nanobind, built in build-python/) and its tests, which
# compare it with build/triage on every shipped sample; then the Triton Inference Server test (the
# shipped models served over HTTP and gRPC must decide as `triage run`; exit 77: pytriton not installable).
pip_flags=(--no-build-isolation -q)
python3 -m pip install "${pip_flags[@]}" . 2>/dev/null || python3 -m pip install "${pip_flags[@]}" --break-system-packages .
{ python3 -m pytest -q python/tests || true; } 2>&1 | tee build/pytest.log | tail -n 15
{ rc=0; tests/triton/test_triton.sh || rc=$?; echo "triton exit $rc"; } 2>&1 | tee build/triton.log | tail -n 5
triton_rc=$(sed -n 's/^triton exit //p' build/triton.log | tail -n1)
[ "$triton_rc" = 77 ] && echo "triton: SKIPPED (the nvidia-pytriton wheel did not install here): not a pass"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAGE_SANITIZE=ON -DTRIAGE_BUILD_BENCH=OFF \
  -DTRIAGE_CUDA=OFF -DTRIAGE_CONVERT_MODELS=ON >/dev/null
san_targets=$(cmake --build build-asan --target help | awk '/^\.\.\. (test_format|test_convert|replay_)/{print $2}')
cmake --build build-asan -j"$jobs" --target triage_cli models $san_targets
# Exported: a prefix assignment cannot precede a { } group.
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
{ ctest --test-dir build-asan -j"$jobs" -L "format|convert|fuzz" --output-on-failure || true; } 2>&1 \
  | tee build-asan/ctest.log | tail -n 20
# aarch64: libtriage cross-compiled with g++-aarch64-linux-gnu (cmake/toolchain-aarch64-linux-gnu.cmake)
# and its portable kernel/runtime/no-allocation tests run under qemu-aarch64 (tests/portable).
cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
  -DTRIAGE_LIB_ONLY=ON -DTRIAGE_PORTABLE_TESTS=ON -DTRIAGE_CUDA=OFF >/dev/null
cmake --build build-arm64 -j"$jobs"
{ ctest --test-dir build-arm64 -j"$jobs" --output-on-failure || true; } 2>&1 | tee build-arm64/ctest.log | tail -n 20
# The run above is at the NEON level (detect_isa() on aarch64); the kernel tests sweep scalar and NEON
# themselves. The runtime tests whose results depend on the level (engine vs the scalar oracle,
# bit-identity across threads / batches / runners) run once more at the scalar level (TRIAGE_ISA=scalar).
{ TRIAGE_ISA=scalar ctest --test-dir build-arm64 -j"$jobs" -L runtime -R 'Oracle|Determinism|SameBits' \
    --output-on-failure || true; } 2>&1 | tee build-arm64/ctest-scalar.log | tail -n 5
# libtriage without exceptions and RTTI (TRIAGE_NO_EXCEPTIONS) with the portable tests, OpenNomem among
# them: every allocation of an open failing in turn gives TRIAGE_E_NOMEM (the open path allocates only
# through FallibleArray and nothrow new, so nothing throws where nothing could catch).
cmake -S . -B build-noexc -DCMAKE_BUILD_TYPE=Release -DTRIAGE_LIB_ONLY=ON -DTRIAGE_PORTABLE_TESTS=ON \
  -DTRIAGE_NO_EXCEPTIONS=ON -DTRIAGE_CUDA=OFF >/dev/null
cmake --build build-noexc -j"$jobs"
{ ctest --test-dir build-noexc -j"$jobs" --output-on-failure || true; } 2>&1 | tee build-noexc/ctest.log | tail -n 5
echo "== summary =="
echo "normal:     $(grep -E 'tests passed|tests failed' build/ctest.log | tail -n1)"
echo "asan+ubsan: $(grep -E 'tests passed|tests failed' build-asan/ctest.log | tail -n1)"
echo "aarch64 (qemu): $(grep -E 'tests passed|tests failed' build-arm64/ctest.log | tail -n1)"
echo "aarch64 scalar level (qemu): $(grep -E 'tests passed|tests failed' build-arm64/ctest-scalar.log | tail -n1)"
echo "no-exceptions: $(grep -E 'tests passed|tests failed' build-noexc/ctest.log | tail -n1)"
echo "python (pytest): $(grep -E '[0-9]+ (passed|failed)' build/pytest.log | tail -n1)"
echo "triton: $(grep -E '^triton' build/triton.log | grep -v '^triton exit' | tail -n1) (exit $(sed -n 's/^triton exit //p' build/triton.log | tail -n1))"
grep -qE '^100% tests passed' build/ctest.log && grep -qE '^100% tests passed' build-asan/ctest.log \
  && grep -qE '^100% tests passed' build-arm64/ctest.log && grep -qE '^100% tests passed' build-arm64/ctest-scalar.log \
  && grep -qE '^100% tests passed' build-noexc/ctest.log \
  && grep -qE '^[0-9]+ passed in' build/pytest.log && { [ "$triton_rc" = 0 ] || [ "$triton_rc" = 77 ]; }
