#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and run triage. Idempotent: installs only
# missing packages. libdnnl-dev (oneDNN) is for the kernel benchmark's side-by-side comparison only;
# its CMake package needs the OpenCL headers, which --no-install-recommends leaves out (ocl-icd-opencl-dev).
# libsimde-dev: the emulated build of the AVX-512/VNNI/AMX kernels that the kernel tests run in CI on CPUs
# without those units (tests/kernels/emulated). libsodium-dev: Ed25519 signed models (triage sign, open
# with options.public_key). g++-aarch64-linux-gnu + qemu-user: the aarch64 cross build and its tests
# under emulation (tools/test.sh). Python packages: numpy, safetensors (the model-consistency test);
# nanobind, scikit-build-core, pytest (the `triage` Python package: `pip install .` and its tests);
# python3-dev: Python.h for the package's extension, and libpython3.11, which Triton's Python backend stub
# links; tritonclient and nvidia-pytriton (its tritonserver binary, installed without its Python dependencies,
# whose numpy<2 pin would downgrade numpy: only the binary is used) for the Triton serving test.
# The engine itself never needs Python.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libgtest-dev libgmock-dev libbenchmark-dev libxsimd-dev
      libpng-dev libjpeg62-turbo-dev libtiff-dev nlohmann-json3-dev libsodium-dev libsimde-dev libdnnl-dev ocl-icd-opencl-dev
      g++-aarch64-linux-gnu qemu-user python3 python3-pip python3-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
py=python3
pip_install() {  # Debian's python3 refuses pip outside a venv unless told (PEP 668)
  "$py" -m pip install -q "$@" 2>/dev/null || "$py" -m pip install -q --break-system-packages "$@"
}
if ! "$py" -c "import numpy, safetensors, nanobind, scikit_build_core, pytest, tritonclient.http, tritonclient.grpc" 2>/dev/null; then
  echo "setup: installing numpy, safetensors, nanobind, scikit-build-core, pytest, tritonclient (pip)"
  pip_install numpy safetensors nanobind scikit-build-core pytest 'tritonclient[http,grpc]'
fi
if ! "$py" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('pytriton') is None)" 2>/dev/null; then
  echo "setup: installing nvidia-pytriton (pip, --no-deps: the tritonserver binary)"
  pip_install --no-deps nvidia-pytriton
fi
echo "setup: ok"
