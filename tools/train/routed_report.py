"""Routed decisions of a converted model on a labelled set, raw and re-weighted to a fab's mix, from
`triage run --json` (the engine itself, q8 or f32 as the file says; no torch):

  python3 tools/train/routed_report.py build/models/awc-wm811k.trw tools/train/runs/calib/awc-wm811k/val.csv \
      [--good-share 0.85] [--threads 2] [--out report.json]

Reports, for the routed decision (coarse exit or fine pass): accuracy, per-class recall, confusion
matrix, escapes (defect called good) and over-rejects (good called defect), the share decided at the
coarse pass, review rate, and the routed cost relative to fine-all in tokens (the fine-all run is a
second `triage run --force fine-all`). Re-weighted numbers give the good class the weight --good-share
and the defect classes together 1 - good-share (each image keeps its weight within its side), which is
how a stream with that share of good images would score. Models without a good class get no escape,
over-reject or re-weighted figures.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(cli, model, paths, threads, extra=()):
    out = subprocess.run([cli, "run", model, *paths, "--json", "--threads", str(threads), *extra],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    return [r for r in rows if "summary" not in r], next(r["summary"] for r in rows if "summary" in r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--good-share", type=float, default=0.85)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "triage"))
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    base = os.path.dirname(os.path.abspath(a.data))
    with open(a.data) as f:
        items = [(os.path.normpath(os.path.join(base, r["path"])), r["label"]) for r in csv.DictReader(f)]
    paths = [p for p, _ in items]
    label = dict(items)
    routed, summ = run(a.cli, a.model, paths, a.threads)
    full, _ = run(a.cli, a.model, paths, a.threads, ("--force", "fine-all"))
    info = json.loads(subprocess.run([a.cli, "inspect", a.model, "--json"], capture_output=True, text=True).stdout or "{}")
    classes = sorted({l for _, l in items} | {r["class"] for r in routed})
    good = info.get("metadata", {}).get("good_label")
    if isinstance(good, dict):
        good = good.get("value")
    if good is None and "none" in classes:
        good = "none"
    n = len(routed)
    y = [label[os.path.normpath(r["path"])] for r in routed]
    p = [r["class"] for r in routed]
    if good is not None and good in y:
        ng = sum(t == good for t in y); nd = n - ng
        w = [(a.good_share / ng) if t == good else ((1 - a.good_share) / nd) for t in y]
    else:
        w = [1.0 / n] * n
    acc = sum(t == q for t, q in zip(y, p)) / n
    acc_w = sum(wi for wi, t, q in zip(w, y, p) if t == q)
    coarse = [r["route"] == "coarse" for r in routed]
    rep = {
        "model": a.model, "data": a.data, "images": n, "good_label": good, "good_share_weighting": a.good_share,
        "accuracy": acc, "accuracy_weighted": acc_w,
        "recall": {c: (sum(t == c and q == c for t, q in zip(y, p)) / max(1, sum(t == c for t in y))) for c in classes
                   if any(t == c for t in y)},
        "confusion": {"classes": classes, "rows": [[sum(t == c and q == d for t, q in zip(y, p)) for d in classes]
                                                   for c in classes]},
        "coarse_exit_share": sum(coarse) / n,
        "coarse_exit_share_weighted": sum(wi for wi, c in zip(w, coarse) if c),
        "review_rate": sum(r["review"] for r in routed) / n,
        "tokens_mean_routed": sum(r["tokens"] for r in routed) / n,
        "tokens_mean_fine_all": sum(r["tokens"] for r in full) / n,
        "latency_ms_routed_mean": summ["mean_ms"], "latency_ms_routed_p50": summ["p50_ms"],
        "latency_ms_routed_p99": summ["p99_ms"], "threads": a.threads, "isa": summ["isa"],
    }
    rep["relative_cost_tokens"] = rep["tokens_mean_routed"] / rep["tokens_mean_fine_all"]
    rep["relative_cost_tokens_weighted"] = (sum(wi * r["tokens"] for wi, r in zip(w, routed))
                                            / sum(wi * r["tokens"] for wi, r in zip(w, full)))
    if good is not None and good in y:
        esc = sum(t != good and q == good for t, q in zip(y, p))
        orj = sum(t == good and q != good for t, q in zip(y, p))
        rep.update({"escapes": esc, "n_defect": nd, "over_rejects": orj, "n_good": ng,
                    "over_reject_rate": orj / ng})
    txt = json.dumps(rep, indent=1)
    if a.out:
        with open(a.out + ".tmp", "w") as f:
            f.write(txt)
        os.replace(a.out + ".tmp", a.out)
    print(txt)


if __name__ == "__main__":
    sys.exit(main())
