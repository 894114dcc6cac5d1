#!/usr/bin/env python3
"""Batch sweep (issue 19): throughput of each pass of each model at batch sizes and thread counts,
through `triage bench --json` (the timed region is the classify call: resize + normalise, passes,
router). Settings run interleaved in rounds (every setting once per round, order rotated), so a
slow spell of a shared host spreads over all of them; each cell is the median over rounds of each
run's mean call latency (the mean, not the median: a routed run at batch 1 mixes fast coarse-only
calls with escalated ones, and its median call is a coarse-only one). Prints a markdown table: images/s and, per batch, the gain over
batch 1 at the same threads.

  python3 bench/e2e/batch_sweep.py [--models adc-pcb,adc-optical,awc-wm811k] [--passes coarse,fine,routed]
      [--batches 1,4,8,32] [--threads 1,2] [--rounds 3] [--images-per-run 240]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(triage, model, passname, threads, batch, images):
    iters = max(5, images // batch)
    cmd = [triage, "bench", os.path.join(ROOT, "build", "models", model + ".trw"),
           "--inputs", os.path.join(ROOT, "models", model, "samples"), "--pass", passname,
           "--threads", str(threads), "--batch", str(batch), "--iters", str(iters),
           "--warmup", str(max(2, iters // 10)), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["summary"]["mean_ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="adc-pcb,adc-optical,awc-wm811k")
    ap.add_argument("--passes", default="coarse,fine,routed")
    ap.add_argument("--batches", default="1,4,8,32")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images-per-run", type=int, default=240)
    ap.add_argument("--triage", default=os.path.join(ROOT, "build", "triage"))
    a = ap.parse_args()
    models, passes = a.models.split(","), a.passes.split(",")
    batches = [int(b) for b in a.batches.split(",")]
    threads = [int(t) for t in a.threads.split(",")]
    cells = [(m, p, t, b) for m in models for p in passes for t in threads for b in batches]
    lat = {c: [] for c in cells}
    for r in range(a.rounds):
        k = r * len(cells) // max(1, a.rounds)
        for c in cells[k:] + cells[:k]:
            lat[c].append(run(a.triage, *c, a.images_per_run))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    print(f"batch sweep: {a.rounds} rounds, ~{a.images_per_run} images per run, load average at end {load}")
    for m in models:
        print(f"\n{m}: images/s (median over rounds of each run's mean call); x = over batch 1, same threads")
        print("| pass | threads | " + " | ".join(f"batch {b}" for b in batches) + " |")
        print("|---|--:|" + "--:|" * len(batches))
        for p in passes:
            for t in threads:
                row = []
                base = None
                for b in batches:
                    ms = statistics.median(lat[(m, p, t, b)])
                    ips = 1000.0 * b / ms
                    base = ips if base is None else base
                    row.append(f"{ips:.0f}" + ("" if b == batches[0] else f" ({ips / base:.2f}x)"))
                print(f"| {p} | {t} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
