#!/usr/bin/env bash
# The main job: build triage (Release), convert the shipped checkpoints (the build does it), then classify
# the shipped sample images with each shipped model and print decisions, routes and latencies.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${TRIAGE_THREADS:-2}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target triage_cli models >/dev/null
for m in models/*/; do
  name=$(basename "$m")
  [ -f "build/models/$name.trw" ] || continue
  echo "== $name: build/models/$name.trw on $m""samples"
  build/triage run "build/models/$name.trw" "$m""samples" --threads "$threads"
done
