#!/usr/bin/env bash
# CI test: triage models served by Triton Inference Server (docs/serving-triton.md).
#
#   tests/triton/test_triton.sh [BUILD_DIR]      (default: build)
#
# Builds a model repository with tools/triton/triton_repo.py for each shipped model (BUILD_DIR/models/
# <name>.trw), starts the tritonserver bundled in nvidia-pytriton (tools/serve-triton.sh) on 127.0.0.1 with
# free ports, classifies every shipped sample (models/<name>/samples) over HTTP and gRPC, as encoded bytes
# and as raw pixels, checks every result equals `BUILD_DIR/triage run MODEL.trw SAMPLES --json` exactly
# (tests/triton/check_triton.py), stops the server (always) and prints a one-line summary.
# Exit status: 0 pass, 1 fail, 77 skipped (only where nvidia-pytriton / tritonclient cannot be imported or
# installed; set TRIAGE_TRITON_NO_PIP=1 to not try installing them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" 2>/dev/null && pwd) || { echo "FAIL: build dir ${1:-$root/build} missing"; exit 1; }
py=${PYTHON:-python3}
models=(awc-wm811k adc-pcb adc-optical)

# 1. The server and the client library: try to install them once, skip (77) only if that cannot be done.
# pytriton is located, not imported: it is installed without its own Python dependencies (only its
# tritonserver binary is used), so importing it fails by design.
deps_ok() {
  "$py" -c 'import importlib.util, sys, tritonclient.http, tritonclient.grpc
sys.exit(importlib.util.find_spec("pytriton") is None)' 2>/dev/null
}
pip_install() {  # Debian's python3 refuses pip outside a venv unless told (PEP 668)
  "$py" -m pip install --quiet "$@" 2>/dev/null || "$py" -m pip install --quiet --break-system-packages "$@"
}
if ! deps_ok; then
  if [ "${TRIAGE_TRITON_NO_PIP:-0}" != 1 ]; then
    # nvidia-pytriton without its dependencies: only its tritonserver is used, and its numpy<2 pin would
    # downgrade the environment's NumPy (serve-triton.sh gives the server's stub its own numpy<2).
    echo "triton: installing nvidia-pytriton and tritonclient[http,grpc] with pip"
    pip_install --no-deps nvidia-pytriton >&2 || true
    pip_install 'tritonclient[http,grpc]' >&2 || true
  fi
  if ! deps_ok; then
    echo "SKIP: nvidia-pytriton / tritonclient[http,grpc] cannot be imported or installed for $py (no tritonserver)"
    exit 77
  fi
fi
# The triage package is this project's own: its absence is a failure, not a skip.
"$py" -c 'import triage' 2>/dev/null \
  || { echo "FAIL: the triage Python package is not installed ($py -m pip install $root)"; exit 1; }
[ -x "$build/triage" ] || { echo "FAIL: $build/triage missing (cmake --build $build --target triage_cli)"; exit 1; }
specs=()
for m in "${models[@]}"; do
  [ -f "$build/models/$m.trw" ] || { echo "FAIL: $build/models/$m.trw missing (cmake --build $build --target models)"; exit 1; }
  specs+=("$m=$build/models/$m.trw=$root/models/$m/samples")
done

work=$(mktemp -d "${TMPDIR:-/tmp}/triage-triton-test.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 2. The repository: one Triton model per shipped model. The reference `triage run` uses 1 thread, one
# image at a time; results do not depend on threads or batching (the engine's contract), so the models
# here differ on purpose: awc-wm811k 2 engine threads and batches of up to 4, adc-optical 2 instances.
"$py" "$root/tools/triton/triton_repo.py" "$build/models/awc-wm811k.trw" "$work/repo" --threads 2 --max-batch 4 >/dev/null
"$py" "$root/tools/triton/triton_repo.py" "$build/models/adc-pcb.trw" "$work/repo" --max-batch 8 >/dev/null
"$py" "$root/tools/triton/triton_repo.py" "$build/models/adc-optical.trw" "$work/repo" --max-batch 8 --instances 2 >/dev/null

# 3. The server, on two free loopback ports (bound, read, released: a small race with other programs).
read -r http_port grpc_port < <("$py" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
"$root/tools/serve-triton.sh" "$work/repo" --http-port "$http_port" --grpc-port "$grpc_port" \
  --workdir "$work/server" --python "$py" >"$work/server.log" 2>&1 &
server_pid=$!
ready=0
for _ in $(seq 1 300); do  # 60 s: three models, each a Python stub process
  kill -0 "$server_pid" 2>/dev/null || break
  if grep -q "^serve-triton: ready" "$work/server.log"; then ready=1; break; fi
  sleep 0.2
done
if [ "$ready" != 1 ]; then
  echo "FAIL: the Triton server did not become ready; its log:"; tail -n 60 "$work/server.log"; exit 1
fi

# 4. Every sample, both protocols, bytes and pixels, against `triage run --json`.
set +e
"$py" "$root/tests/triton/check_triton.py" --http-port "$http_port" --grpc-port "$grpc_port" \
  --cli "$build/triage" "${specs[@]}"
rc=$?
set -e
if [ "$rc" != 0 ]; then
  echo "FAIL: tests/triton/check_triton.py exited $rc; server log tail:"; tail -n 30 "$work/server.log"
  exit 1
fi
echo "PASS"
