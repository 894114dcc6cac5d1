"""Defect locations for a pre-generated SEM set: <prefix>_loc.npy, float32 [n, 2] (row, col of the
defect centre in the stored image; NaN for `good`). The generator knows where it drew each defect (a
review SEM image is taken at the coordinate the inspection tool reported, so real data has this too).
Regenerates the stream in 2 processes and checks the images against the stored ones.

  python3 tools/train/sem_locs.py tools/train/runs/sem/src_train --n 5000 --seed 101 --domain source --defect-frac 0.6
"""
from __future__ import annotations

import argparse
import os
import sys
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_sem as G  # noqa: E402


def _chunk(a):
    prefix, start, n, seed, domain, frac = a
    x, y, metas = G.generate(n, seed, domain, frac, start=start)
    stored = np.load(prefix + "_x.npy", mmap_mode="r")[start:start + n]
    # numpy's float results can differ in the last bit with memory alignment, so a regenerated
    # pixel may be off by a count or two; the defect placement (integer draws) cannot be.
    diff = (x != stored).mean()
    if diff > 0.01:
        raise SystemExit(f"{prefix}: images {start}..{start + n - 1} differ from the stored set ({diff:.2%} of pixels)")
    return np.array([m["loc"] if m["loc"] is not None else [np.nan, np.nan] for m in metas], np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--defect-frac", type=float, default=None)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    step = 250
    jobs = [(a.prefix, s, min(step, a.n - s), a.seed, a.domain, a.defect_frac) for s in range(0, a.n, step)]
    with Pool(a.workers) as p:
        loc = np.concatenate(p.map(_chunk, jobs))
    tmp = a.prefix + "_loc.tmp.npy"
    np.save(tmp, loc)
    os.replace(tmp, a.prefix + "_loc.npy")
    print(f"{a.prefix}_loc.npy: {int(np.isfinite(loc[:, 0]).sum())} defect locations of {len(loc)}")


if __name__ == "__main__":
    main()
