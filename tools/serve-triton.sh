#!/usr/bin/env bash
# Serves a Triton model repository (made by tools/triton/triton_repo.py) with the tritonserver binary
# that the PyPI wheel nvidia-pytriton bundles, on 127.0.0.1, in the foreground (so `... &` and `kill`
# work: SIGTERM/SIGINT stop the server and remove a temporary work dir). docs/serving-triton.md.
#
#   tools/serve-triton.sh REPO [--http-port P] [--grpc-port Q] [--workdir DIR] [--python PY]
#                              [--log-verbose N] [-- EXTRA_TRITONSERVER_ARGS...]
#
#   REPO            the model repository (each model a folder with config.pbtxt and 1/model.py)
#   --http-port P   HTTP/REST port (default 8000); --grpc-port Q gRPC port (default 8001)
#   --workdir DIR   where the server's bin/, backends/ and caches/ are prepared (default: a temp dir,
#                   removed on exit); an existing prepared DIR is reused
#   --python PY     the interpreter whose nvidia-pytriton serves and whose `triage` and numpy the
#                   model.py imports (default: python3 on PATH)
#   --              the rest goes to tritonserver unchanged (e.g. --model-control-mode=poll
#                   --repository-poll-secs=30)
#
# Metrics are off (-- --allow-metrics=true turns them on); the server listens on loopback only: put a
# reverse proxy in front, or run tritonserver yourself, to serve other machines.
set -euo pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

repo="" http_port=8000 grpc_port=8001 workdir="" py=python3 verbose=0 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --http-port) http_port="${2:?}"; shift 2 ;;
    --grpc-port) grpc_port="${2:?}"; shift 2 ;;
    --workdir) workdir="${2:?}"; shift 2 ;;
    --python) py="${2:?}"; shift 2 ;;
    --log-verbose) verbose="${2:?}"; shift 2 ;;
    -h|--help) usage ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "serve-triton: unknown option $1" >&2; usage ;;
    *) [ -z "$repo" ] || usage; repo="$1"; shift ;;
  esac
done
[ -n "$repo" ] || usage
[ -d "$repo" ] || { echo "serve-triton: $repo: not a folder (make one with tools/triton/triton_repo.py)" >&2; exit 2; }
repo=$(cd "$repo" && pwd)

# Where the wheel lives, and the interpreter's version and bin dir (the Python backend stub is built per
# Python minor version; its embedded Python takes its prefix from the first python3 on PATH: ours).
if ! info=$("$py" - <<'EOF' 2>/dev/null
import importlib.util, os, sys
spec = importlib.util.find_spec("pytriton")  # located, not imported (its import is slow)
print(os.path.dirname(os.path.dirname(spec.origin)))
print(f"{sys.version_info.major}.{sys.version_info.minor}")
print(os.path.dirname(sys.executable))
import site
dirs = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
print(os.pathsep.join(d for d in dirs if os.path.isdir(d)))
EOF
); then
  echo "serve-triton: nvidia-pytriton is not installed for $py (it bundles tritonserver):" >&2
  echo "  $py -m pip install nvidia-pytriton" >&2
  exit 3
fi
{ read -r site; read -r pyver; read -r pybin; read -r site_dirs; } <<<"$info"
src="$site/pytriton/tritonserver"
libs="$site/nvidia_pytriton.libs"
stub="$src/python_backend_stubs/$pyver/triton_python_backend_stub"
for f in "$src/bin/tritonserver" "$src/backends/python/libtriton_python.so" "$stub" "$libs"; do
  [ -e "$f" ] || { echo "serve-triton: $f missing: this nvidia-pytriton has no server for Python $pyver" >&2; exit 3; }
done
"$py" -c 'import triage' 2>/dev/null || echo "serve-triton: warning: $py cannot import triage; the models will fail to load (python3 -m pip install ./ in the triage checkout)" >&2

# The bundled Python backend stub is built against the NumPy 1 ABI: with NumPy 2 it corrupts every tensor
# it exchanges with model.py (nvidia-pytriton declares numpy<2 for that reason). Where the interpreter has
# NumPy 2, the stub gets a numpy<2 overlay first on its path (pip-installed once into a cache dir; the
# triage package works with either). The interpreter's own environment is left as it is.
numpy1=""
numpy_major=$("$py" -c 'import numpy; print(numpy.__version__.split(".")[0])' 2>/dev/null || echo none)
if [ "$numpy_major" = none ]; then
  echo "serve-triton: $py cannot import numpy ($py -m pip install 'numpy<2')" >&2; exit 3
elif [ "$numpy_major" -ge 2 ]; then
  overlay="${TRIAGE_TRITON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/triage-triton}/numpy1-py$pyver"
  if [ ! -f "$overlay/.complete" ]; then
    echo "serve-triton: $py has NumPy $numpy_major; installing a numpy<2 overlay for the Python backend stub into $overlay"
    mkdir -p "$(dirname "$overlay")"
    staging=$(mktemp -d "$overlay.tmp-XXXXXX")
    if ! "$py" -m pip install --quiet --disable-pip-version-check --no-deps --target "$staging" 'numpy<2' >&2; then
      rm -rf "$staging"
      echo "serve-triton: cannot install numpy<2 (no PyPI?): serve from an environment with numpy<2, as nvidia-pytriton requires" >&2
      exit 3
    fi
    touch "$staging/.complete"
    rm -rf "$overlay"
    mv "$staging" "$overlay"
  fi
  site_dirs="$overlay:$site_dirs"
  # Also named on its own: model.py puts it first on sys.path, before the interpreter's site-packages that
  # the stub's embedded Python may find by itself (a venv, Debian's /usr/local dist-packages).
  numpy1="$overlay"
fi

# Work dir: the server's layout with the stub for our Python next to the Python backend.
tmp_work=0
if [ -z "$workdir" ]; then
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/triage-triton.XXXXXX")
  tmp_work=1
fi
mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
if [ ! -x "$workdir/bin/tritonserver" ] || [ ! -x "$workdir/backends/python/triton_python_backend_stub" ]; then
  cp -r "$src/bin" "$src/backends" "$src/caches" "$workdir/"
  cp "$stub" "$workdir/backends/python/triton_python_backend_stub"
  chmod +x "$workdir/bin/tritonserver" "$workdir/backends/python/triton_python_backend_stub"
fi

# A per-server shared-memory prefix: several servers (and their Python stubs) on one machine do not
# share regions in /dev/shm.
shm_prefix="triage_triton_$$_"
server_pid=""
cleanup() {
  trap '' TERM INT  # a second signal must not cut the cleanup short
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # Triton drains in-flight requests (up to its --exit-timeout-secs, 30 s by default) before exiting.
    wait "$server_pid" 2>/dev/null || true
  fi
  # The server runs in its own process group (setsid) with its Python stubs: a server stopped while it
  # was still loading models (or one that crashed) leaves its stubs behind; end them.
  if [ -n "$server_pid" ]; then kill -KILL -- "-$server_pid" 2>/dev/null || true; fi
  # Regions a crashed Python stub left behind (ours only: the prefix holds this script's pid).
  rm -f /dev/shm/"$shm_prefix"* 2>/dev/null || true
  if [ "$tmp_work" = 1 ]; then rm -rf "$workdir"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# TRIAGE_TRITON_SITE_DIRS: the interpreter's site-packages, for model.py (the stub's embedded Python
# may not find them itself; see tools/triton/model_template.py).
TRIAGE_TRITON_SITE_DIRS="$site_dirs" TRIAGE_TRITON_NUMPY1="$numpy1" PATH="$pybin:$PATH" \
  LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  setsid "$workdir/bin/tritonserver" \
  --model-repository="$repo" \
  --backend-directory="$workdir/backends" \
  --cache-directory="$workdir/caches" \
  --backend-config="python,shm-region-prefix-name=$shm_prefix" \
  --http-address=127.0.0.1 --grpc-address=127.0.0.1 \
  --http-port="$http_port" --grpc-port="$grpc_port" \
  --allow-metrics=false --log-verbose="$verbose" \
  "${extra[@]}" &
server_pid=$!

echo "serve-triton: tritonserver pid $server_pid, repository $repo"
echo "serve-triton: HTTP  http://127.0.0.1:$http_port  (health: /v2/health/ready)"
echo "serve-triton: gRPC  127.0.0.1:$grpc_port"

# Wait for readiness (every model in the repository loaded), or for the server to die.
is_ready() {
  if command -v curl >/dev/null; then
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$http_port/v2/health/ready"
  else
    "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "http://127.0.0.1:$http_port/v2/health/ready" 2>/dev/null
  fi
}
ready=0
for _ in $(seq 1 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  if is_ready; then ready=1; break; fi
  sleep 0.2
done
if [ "$ready" = 1 ]; then
  echo "serve-triton: ready"
elif kill -0 "$server_pid" 2>/dev/null; then
  echo "serve-triton: the server is not ready after 2 minutes (see its log above); stopping it" >&2
  exit 1
else
  echo "serve-triton: the server did not become ready (see its log above)" >&2
  set +e; wait "$server_pid"; rc=$?
  exit $(( rc == 0 ? 1 : rc ))
fi

# Foreground: exit with the server's status.
set +e
wait "$server_pid"
rc=$?
exit "$rc"
