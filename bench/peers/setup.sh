#!/bin/sh
# Peers for bench/peers/run_peers.py: ONNX Runtime, OpenVINO (+ NNCF for its int8 path), onnx,
# matplotlib, in a git-ignored virtual environment that sees the system torch/numpy/safetensors.
# Not part of CI. Usage (from the repository root): sh bench/peers/setup.sh [VENV_DIR]
set -eu
VENV=${1:-.venv-peers}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/pip" install --disable-pip-version-check -q onnx onnxruntime openvino matplotlib
# NNCF (OpenVINO's post-training int8 quantisation). Optional: without it the OpenVINO int8 row is
# reported as not run, with the reason.
"$VENV/bin/pip" install --disable-pip-version-check -q nncf || echo "setup.sh: nncf did not install; OpenVINO int8 will be reported as unavailable" >&2
"$VENV/bin/python" - <<'PY'
import importlib
for m in ("torch", "numpy", "onnx", "onnxruntime", "openvino", "matplotlib", "nncf"):
    try:
        mod = importlib.import_module(m)
        print(f"{m:12s} {getattr(mod, '__version__', '?')}")
    except Exception as e:  # noqa: BLE001
        print(f"{m:12s} MISSING ({e})")
PY
echo "peers ready: $VENV/bin/python bench/peers/run_peers.py --quick"
