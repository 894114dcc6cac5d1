#!/usr/bin/env bash
# usage: firmware_example.sh SOURCE_DIR WORK_DIR TRIAGE_CLI MODEL.trw
set -euo pipefail
src=$1 work=$2 cli=$3 model=$4
[ -f "$model" ] || { echo "FAIL: shipped model $model missing (build target models)"; exit 1; }
rm -rf "$work"; mkdir -p "$work"
jobs=$(nproc)
# 1. library only: must configure without libpng, nlohmann-json, GoogleTest, Benchmark, oneDNN
cmake -S "$src" -B "$work/lib" -DCMAKE_BUILD_TYPE=Release -DTRIAGE_LIB_ONLY=ON -DTRIAGE_CUDA=OFF >"$work/lib.log" 2>&1 \
  || { cat "$work/lib.log"; exit 1; }
if grep -qiE "Found (PNG|GTest|nlohmann|benchmark|dnnl)" "$work/lib.log"; then
  echo "FAIL: the library-only configure looked for a tool/test dependency:"; grep -iE "Found" "$work/lib.log"; exit 1
fi
cmake --build "$work/lib" -j"$jobs" >>"$work/lib.log" 2>&1 || { tail -n 30 "$work/lib.log"; exit 1; }
# 2. install
cmake --install "$work/lib" --prefix "$work/prefix" >"$work/install.log"
for f in lib/libtriage.a include/triage.h lib/cmake/triage/triageConfig.cmake lib/cmake/triage/triageConfigVersion.cmake \
         lib/pkgconfig/triage.pc; do
  [ -f "$work/prefix/$f" ] || { echo "FAIL: install lacks $f"; exit 1; }
done
# 3. the firmware example against the installed package only
cmake -S "$src/examples/firmware" -B "$work/fw" -DCMAKE_PREFIX_PATH="$work/prefix" -DTRIAGE_MODEL="$model" \
  >"$work/fw.log" 2>&1 || { cat "$work/fw.log"; exit 1; }
cmake --build "$work/fw" >>"$work/fw.log" 2>&1 || { tail -n 30 "$work/fw.log"; exit 1; }
if grep -q "static link 1" "$work/fw.log"; then
  # no program interpreter (PT_INTERP) = no dynamic loader needed (binutils' readelf: in build-essential)
  if readelf -l "$work/fw/firmware_demo" | grep -q "INTERP"; then echo "FAIL: -static accepted but binary is dynamic"; exit 1; fi
fi
# 4. same decisions as `triage run` (class, confidence, route, review) on every wafer sample
samples=("$src"/models/awc-wm811k/samples/*.npy)
"$work/fw/firmware_demo" "${samples[@]}" >"$work/fw.out"
"$cli" run "$model" "${samples[@]}" --threads 1 | awk '$1 != "summary:" {print $1, $2, $3, $4, $5}' >"$work/cli.out"
if ! diff -u "$work/cli.out" "$work/fw.out"; then echo "FAIL: firmware_demo and triage run disagree"; exit 1; fi
echo "PASS: ${#samples[@]} samples, firmware_demo == triage run ($(grep -o 'static link [01]' "$work/fw.log"))"
