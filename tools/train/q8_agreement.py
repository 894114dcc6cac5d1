"""q8 vs f32 top-1 agreement of two converted files of one checkpoint on a labelled or unlabelled set,
per pass (forced coarse, forced fine with K = topk, fine-all), through the engine (the `triage` Python
package, force=...; it decides as `triage run --force` does): counted over all images and over the images that are not class near ties (f32 top-2
probability margin < 0.01, the rule of tests/runtime/test_shipped_models.cpp).

  python3 tools/train/q8_agreement.py build/models/awc-wm811k.f32.trw build/models/awc-wm811k.trw \
      tools/train/runs/calib/awc-wm811k/val.csv [--threads 2]
"""
from __future__ import annotations

import argparse
import csv
import json
import os

from routed_report import run

TIE = 0.01


def main():
    """Prints one line per pass; returns the counts (and the flipped images) as a dict."""
    ap = argparse.ArgumentParser()
    ap.add_argument("f32")
    ap.add_argument("q8")
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="also print the counts and flips as JSON")
    a = ap.parse_args()
    base = os.path.dirname(os.path.abspath(a.data))
    with open(a.data) as f:
        paths = [os.path.normpath(os.path.join(base, r["path"])) for r in csv.DictReader(f)]
    out = {}
    for force in ("coarse", "fine", "fine-all"):
        rf, _ = run(a.f32, paths, a.threads, force=force)
        rq, _ = run(a.q8, paths, a.threads, force=force)
        agree = ties = agree_nt = 0
        flips = []
        for x, y in zip(rf, rq):
            p = sorted(x["probabilities"].values(), reverse=True)
            tie = len(p) > 1 and p[0] - p[1] < TIE
            # top-1 of the probabilities, not the routed class: the two files may carry different
            # router thresholds (q8 calibrated, f32 not), which change the decided class, not the pass.
            top = lambda r: max(r["probabilities"], key=r["probabilities"].get)
            same = top(x) == top(y)
            agree += same; ties += tie; agree_nt += same and not tie
            if not same:
                flips.append({"path": x["path"], "f32": top(x), "q8": top(y), "f32_margin": p[0] - p[1]})
        n = len(rf)
        out[force] = {"images": n, "agree": agree, "near_ties": ties, "agree_outside_ties": agree_nt,
                      "agreement": agree / n, "agreement_outside_ties": agree_nt / max(1, n - ties), "flips": flips}
        print(f"{force:8s}: {agree}/{n} agree ({100*agree/n:.2f}%); outside {ties} near ties "
              f"{agree_nt}/{n-ties} ({100*agree_nt/max(1,n-ties):.2f}%)")
    return out


if __name__ == "__main__":
    import sys
    res = main()
    if "--json" in sys.argv:
        print(json.dumps(res))
