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
# 4b. the same with the library's parallel steps on the program's own 2 workers (options.run_tasks)
"$work/fw/firmware_demo" --threads 3 --caller-threads "${samples[@]}" >"$work/fw-threads.out" 2>"$work/fw-threads.err"
grep -q "the program's own workers" "$work/fw-threads.err" || { echo "FAIL: caller threads not used"; exit 1; }
if ! diff -u "$work/cli.out" "$work/fw-threads.out"; then echo "FAIL: firmware_demo on caller threads disagrees"; exit 1; fi
# 5. signed release: the same program pinned to a release key decides the same on the signed model,
#    and a build pinned to that key refuses the unsigned model (status SIGNATURE)
signing=no
if grep -q "Libs.private: -lsodium" "$work/prefix/lib/pkgconfig/triage.pc"; then
  "$cli" keygen --out "$work/release" > /dev/null
  "$cli" sign "$model" --key "$work/release.key" -o "$work/signed.trw" > /dev/null
  hex=$(awk '{print $2}' "$work/release.pub")
  for m in signed unsigned; do
    f="$work/signed.trw"; [ $m = unsigned ] && f="$model"
    cmake -S "$src/examples/firmware" -B "$work/fw-$m" -DCMAKE_PREFIX_PATH="$work/prefix" -DTRIAGE_MODEL="$f" \
      -DTRIAGE_PUBLIC_KEY="$hex" >"$work/fw-$m.log" 2>&1 && cmake --build "$work/fw-$m" >>"$work/fw-$m.log" 2>&1 \
      || { tail -n 30 "$work/fw-$m.log"; exit 1; }
  done
  "$work/fw-signed/firmware_demo" "${samples[@]}" >"$work/fw-signed.out" 2>"$work/fw-signed.err"
  grep -q "signature verified" "$work/fw-signed.err" || { echo "FAIL: pinned build did not verify"; exit 1; }
  diff -u "$work/cli.out" "$work/fw-signed.out" || { echo "FAIL: signed model decides differently"; exit 1; }
  if "$work/fw-unsigned/firmware_demo" "${samples[@]}" >/dev/null 2>"$work/fw-unsigned.err"; then
    echo "FAIL: a build pinned to the release key opened an unsigned model"; exit 1
  fi
  grep -q "SIGNATURE" "$work/fw-unsigned.err" || { echo "FAIL: refusal: $(cat "$work/fw-unsigned.err")"; exit 1; }
  signing=yes
fi
echo "PASS: ${#samples[@]} samples, firmware_demo == triage run (also on the program's own threads; $(grep -o 'static link [01]' "$work/fw.log"); pinned release key: $signing)"
