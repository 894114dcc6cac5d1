"""Routed decisions of a converted model on a labelled set, raw and re-weighted to a fab's mix, from
the engine itself through the `triage` Python package (`python3 -m pip install .`; q8 or f32 as the
file says; no torch), which decides exactly as `triage run` does:

  python3 tools/train/routed_report.py build/models/awc-wm811k.trw tools/train/runs/calib/awc-wm811k/val.csv \
      [--good-share 0.85] [--threads 2] [--out report.json]

Reports, for the routed decision (coarse exit or fine pass): accuracy, per-class recall, confusion
matrix, escapes (defect called good) and over-rejects (good called defect), the share decided at the
coarse pass, review rate, and the routed cost relative to fine-all in tokens (the fine-all run is a
second pass over the set with force="fine-all"). Re-weighted numbers give the good class the weight --good-share
and the defect classes together 1 - good-share (each image keeps its weight within its side), which is
how a stream with that share of good images would score. Models without a good class get no escape,
over-reject or re-weighted figures.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(model, paths, threads, force="none"):
    """Classifies every image of `paths` with the engine (the `triage` package): one row per image as
    `triage run --json` prints it (path, class, confidence, route, review, tokens, probabilities by
    class name, ms: engine time of the classify call) and a summary (mean / p50 / p99 ms, isa)."""
    try:
        import triage
    except ImportError:
        sys.exit("the triage Python package is not installed: python3 -m pip install . (repository root)")
    m = triage.Model(model, threads=threads, force=force)
    names = m.class_names
    rows, ms = [], []
    for p in paths:
        img = triage.read_image(p, channels=m.in_channels)
        t = time.perf_counter()
        r = m.classify(img)
        ms.append((time.perf_counter() - t) * 1e3)
        rows.append({"path": p, "class": r.class_name, "confidence": r.confidence, "route": r.route,
                     "review": r.review, "tokens": r.tokens, "ms": ms[-1],
                     "probabilities": dict(zip(names, r.probabilities.tolist()))})
    summary = {"images": len(rows), "mean_ms": float(np.mean(ms)), "p50_ms": float(np.percentile(ms, 50)),
               "p99_ms": float(np.percentile(ms, 99)), "isa": m.info["isa"], "threads": threads}
    return rows, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--good-share", type=float, default=0.85)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    base = os.path.dirname(os.path.abspath(a.data))
    with open(a.data) as f:
        items = [(os.path.normpath(os.path.join(base, r["path"])), r["label"]) for r in csv.DictReader(f)]
    paths = [p for p, _ in items]
    label = dict(items)
    routed, summ = run(a.model, paths, a.threads)
    full, _ = run(a.model, paths, a.threads, force="fine-all")
    import triage
    info = triage.Model(a.model).info
    classes = sorted({l for _, l in items} | {r["class"] for r in routed})
    good = info["class_names"][info["good_class"]] if info["good_class"] >= 0 else None
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
