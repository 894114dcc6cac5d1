#!/usr/bin/env bash
# The CUDA backend's device check, one prepared run for a lent GPU machine (/work/.library/device):
#
#   tools/gpu-check.sh --prepare   HERE (no GPU needed): build test_cuda, bench_cuda and the triage CLI for
#                                  sm_87 + sm_90 into build-gpu-check/ and stage them, with the shared
#                                  libraries they need, in .gpu-check/ (git-ignored; carried by the run).
#   tools/gpu-check.sh             ON THE DEVICE (repo root, $OUT set by the tool):
#     1. card + compute capability (nvidia-smi --query-gpu=compute_cap); binaries: the staged ones when
#        they hold that sm_XX, else configure + build for exactly that arch (CMAKE_CUDA_ARCHITECTURES);
#     2. convert the shipped models (q8, f32) with the triage CLI;
#     3. test_cuda (every CUDA kernel vs the CPU references, engine vs CPU engine on the goldens);
#     4. compute-sanitizer memcheck over the kernel tests and the misuse test;
#     5. bench_cuda: kernel medians with op/byte counts vs measured ceilings; the routed forward at
#        batch 1, 8, 64 (q8 and f32 files);
#     6. PyTorch on the same models (tools/train/model.py): eager f32 / bf16 routed, CUDA graphs;
#     7. a short table last; full logs under $OUT.
#   Each step runs under `timeout`, sized from a global deadline (GPU_CHECK_DEADLINE_S, default 450 s,
#   inside the 8-minute budget); a step without enough time left is skipped and says so. Planned (with
#   staged binaries): models 10 s, tests 120, memcheck 100, bench q8 90, bench f32 30, PyTorch 90 = 440 s.
#
# Device call (from the session): run(command="tools/gpu-check.sh", carry=[".gpu-check"], timeout_s=540)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ "${1:-}" == "--prepare" ]]; then
  set -e
  jobs=${JOBS:-2}
  cmake -S . -B build-gpu-check -DCMAKE_BUILD_TYPE=Release -DTRIAGE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="87;90" \
    -DTRIAGE_BUILD_BENCH=ON -DTRIAGE_CONVERT_MODELS=OFF >/dev/null
  cmake --build build-gpu-check -j"$jobs" --target test_cuda bench_cuda triage_cli
  rm -rf .gpu-check && mkdir -p .gpu-check/bin .gpu-check/lib
  cp build-gpu-check/tests/cuda/test_cuda build-gpu-check/bench/cuda/bench_cuda build-gpu-check/triage .gpu-check/bin/
  strip --strip-debug .gpu-check/bin/* || true
  # Shared libraries outside the C/C++ runtime (libpng, zlib, ...): the device image may lack them.
  for b in .gpu-check/bin/*; do
    ldd "$b" | awk '/=> \//{print $3}'
  done | sort -u | grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux[^/]*|libpthread|libdl|librt)\.so' |
    while read -r l; do cp -L "$l" .gpu-check/lib/; done
  grep -qxF '/.gpu-check/' .git/info/exclude 2>/dev/null || echo '/.gpu-check/' >>.git/info/exclude
  grep -qxF '/build-gpu-check/' .git/info/exclude 2>/dev/null || echo '/build-gpu-check/' >>.git/info/exclude
  for b in .gpu-check/bin/*; do echo "$b: $(cuobjdump --list-elf "$b" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u | tr '\n' ' ')"; done
  du -sh .gpu-check
  exit 0
fi

OUT=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT"
LOG=$OUT/gpu-check.log
: >"$LOG"
START=$(date +%s)
DEADLINE=$((START + ${GPU_CHECK_DEADLINE_S:-450}))
WORK=$(mktemp -d /tmp/gpu-check.XXXXXX)
declare -A STATUS

say() { echo "$*" | tee -a "$LOG"; }
# budget WANT RESERVE: seconds for a step wanting WANT, keeping RESERVE for the steps after it (0: skip).
budget() {
  local left=$((DEADLINE - $(date +%s) - $2))
  ((left > $1)) && left=$1
  ((left < 20)) && left=0
  echo "$left"
}
step() {  # step NAME SECONDS CMD... : runs CMD under timeout, logs, records the status
  local name=$1 secs=$2
  shift 2
  if ((secs == 0)); then
    say "== $name: SKIPPED (no time left)"
    STATUS[$name]=skipped
    return 0
  fi
  say "== $name (timeout ${secs}s, t=$(($(date +%s) - START))s)"
  timeout --kill-after=10 "$secs" "$@" >>"$WORK/$name.out" 2>&1
  local rc=$?
  cat "$WORK/$name.out" >>"$LOG"
  case $rc in
    0) STATUS[$name]=ok ;;
    124 | 137) STATUS[$name]="TIMEOUT after ${secs}s" ;;
    *) STATUS[$name]="FAILED rc=$rc" ;;
  esac
  say "== $name: ${STATUS[$name]} ($(($(date +%s) - START))s elapsed)"
}

# 1. The card, and binaries for it.
say "== device"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee -a "$LOG"
CC=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
if [[ -z "$CC" ]]; then
  say "no GPU visible to nvidia-smi: nothing to check"
  exit 1
fi
say "compute capability: sm_$CC; nvcc: $(nvcc --version 2>/dev/null | tail -1)"
BIN=""
staged_ok() {  # the staged test binary holds machine code for this card (trust it if cuobjdump is absent)
  [[ -x .gpu-check/bin/test_cuda ]] || return 1
  command -v cuobjdump >/dev/null || return 0
  cuobjdump --list-elf .gpu-check/bin/test_cuda 2>/dev/null | grep -q "sm_$CC"
}
if staged_ok; then
  BIN=$ROOT/.gpu-check/bin
  export LD_LIBRARY_PATH=$ROOT/.gpu-check/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  say "using the staged binaries (.gpu-check/bin: $(cuobjdump --list-elf "$BIN/test_cuda" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u | tr '\n' ' '))"
else
  say "no staged binaries for sm_$CC: building here for sm_$CC"
  gen=""
  command -v ninja >/dev/null && gen="-G Ninja"
  step configure "$(budget 120 330)" cmake -S . -B build-device $gen -DCMAKE_BUILD_TYPE=Release -DTRIAGE_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$CC" -DTRIAGE_BUILD_BENCH=ON -DTRIAGE_CONVERT_MODELS=OFF
  step build "$(budget 300 200)" cmake --build build-device -j"$(nproc)" --target test_cuda bench_cuda triage_cli
  if [[ "${STATUS[build]:-}" == ok ]]; then
    mkdir -p "$WORK/bin"
    cp build-device/tests/cuda/test_cuda build-device/bench/cuda/bench_cuda build-device/triage "$WORK/bin/"
    BIN=$WORK/bin
  else
    say "build failed: see $LOG (a missing dependency on this image? run tools/gpu-check.sh --prepare where the"
    say "project builds and carry .gpu-check)"
  fi
fi
# cuBLAS for the bench's comparison rows: PyTorch's copy.
CUBLAS_DIR=$(python3 -c 'import nvidia.cublas as c, os; print(os.path.join(list(c.__path__)[0], "lib"))' 2>/dev/null || true)
[[ -n "$CUBLAS_DIR" && -d "$CUBLAS_DIR" ]] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$CUBLAS_DIR

if [[ -n "$BIN" ]]; then
  # 2. Models.
  MD=$WORK/models
  mkdir -p "$MD"
  for d in models/*/; do
    m=$(basename "$d")
    [[ -f "$d/config.json" && -f "$d/model.safetensors" ]] || continue
    for dt in q8 f32; do
      "$BIN/triage" convert "$d" --dtype "$dt" -o "$MD/$m.$dt.trw" >>"$LOG" 2>&1 || say "convert $m $dt failed"
    done
  done
  ls -la "$MD" | tee -a "$LOG"
  export TRIAGE_TEST_MODELS_DIR=$MD

  # 3. Tests.
  step test_cuda "$(budget 120 310)" "$BIN/test_cuda" --gtest_output="xml:$OUT/test_cuda.xml"
  # 4. memcheck (kernels + misuse; graphs of the engine tests are exercised by test_cuda above).
  step memcheck "$(budget 100 210)" compute-sanitizer --tool memcheck --error-exitcode 99 --print-limit 50 \
    "$BIN/test_cuda" --gtest_filter='CudaKernels.*:CudaEngine.MisuseIsReportedNotCrashed'
  cp "$WORK/memcheck.out" "$OUT/memcheck.log" 2>/dev/null
  # 5. Benchmarks.
  imgs=$WORK/images
  mkdir -p "$imgs"
  cp -r models/*/samples/* "$imgs/" 2>/dev/null
  models_q8=()
  for f in "$MD"/*.q8.trw; do [[ -f $f ]] && models_q8+=(--model "$f"); done
  models_f32=()
  for f in "$MD"/*.f32.trw; do [[ -f $f ]] && models_f32+=(--model "$f"); done
  step bench_q8 "$(budget 90 120)" "$BIN/bench_cuda" "${models_q8[@]}" --images "$imgs" --batches 1,8,64 --reps 30 \
    --e2e-runs 50 --csv "$OUT/bench.csv"
  step bench_f32 "$(budget 30 90)" "$BIN/bench_cuda" "${models_f32[@]}" --images "$imgs" --batches 1,8,64 --e2e-only \
    --e2e-runs 30 --csv "$WORK/bench_f32.csv"
  tail -n +2 "$WORK/bench_f32.csv" >>"$OUT/bench.csv" 2>/dev/null
fi
# 6. PyTorch on the same models.
mdirs=()
for d in models/*/; do [[ -f "$d/model.safetensors" ]] && mdirs+=(--model-dir "$d"); done
step torch "$(budget 90 10)" env PYTHONUNBUFFERED=1 python3 bench/cuda/torch_ref.py "${mdirs[@]}" --batches 1,8,64 \
  --runs 30 --csv "$OUT/torch.csv"

# 7. Summary (last, so the tool's output tail shows it).
{
  echo
  echo "================ gpu-check summary ($(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), sm_$CC, $(($(date +%s) - START)) s) ================"
  for s in configure build test_cuda memcheck bench_q8 bench_f32 torch; do
    [[ -n "${STATUS[$s]:-}" ]] && printf '  %-10s %s\n' "$s" "${STATUS[$s]}"
  done
  if [[ -f "$OUT/test_cuda.xml" ]]; then
    grep -o '<testsuites [^>]*' "$OUT/test_cuda.xml" | grep -oE '(tests|failures|errors|disabled)="[0-9]+"' | tr '\n' ' '
    echo "(skipped: $(grep -c '<skipped' "$OUT/test_cuda.xml"))"
    grep -B1 '<failure' "$OUT/test_cuda.xml" | grep -o 'testcase name="[^"]*"' | sort -u | sed 's/^/  FAILED /'
  fi
  grep -h 'ERROR SUMMARY' "$OUT/memcheck.log" 2>/dev/null | tail -1 | sed 's/^/  memcheck: /'
  grep -h 'gpu vs cpu worst' "$WORK/test_cuda.out" 2>/dev/null | sed 's/^/  /'
  grep -h '^ceilings' "$WORK/bench_q8.out" 2>/dev/null | sed 's/^/  /'
  echo "  kernels (median per launch; % of measured ceilings):"
  grep -hE '^\s+(coarse |fine )?(qkv q8|attention f32|fc1 q8|layernorm)' "$WORK/bench_q8.out" 2>/dev/null | sed 's/^/  /'
  echo "  routed forward, wall per batch (ours: triage_cuda; torch: CUDA events):"
  grep -h ' e2e ' "$WORK/bench_q8.out" "$WORK/bench_f32.out" 2>/dev/null | grep -E 'routed' | sed 's/^ */    /'
  grep -h '  torch ' "$WORK/torch.out" 2>/dev/null | sed 's/^ */    /'
} | tee -a "$LOG"
rm -rf "$WORK"
