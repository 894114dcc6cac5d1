"""DeepPCB inspection sites (/work/shared/data/deeppcb): index, split by board image (`pair`), and the
engine's preprocessing of every site at both resolutions, cached.

Sites are 8-bit grey squares (128 px or more). Both resolutions are resized straight from the site
(bilinear, half-pixel, no antialias: model.preprocess), as the engine does. Flips, 90-degree rotations
and a linear brightness/contrast change commute exactly with that resize on square images, so training
augments the cached tensors instead of the raw sites.
"""
from __future__ import annotations

import csv
import os
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F

DATA_DIR = os.environ.get("DEEPPCB_DIR", "/work/shared/data/deeppcb")
LABELS = ["open", "short", "mousebite", "spur", "copper", "pin-hole", "none"]
GOOD = "none"


def load_index(data_dir: str = DATA_DIR):
    with open(os.path.join(data_dir, "labels.csv")) as f:
        return list(csv.DictReader(f))


def split_by_pair(rows, seed: int = 0, val_frac: float = 0.2, calib_frac: float = 0.1):
    """(train, calib, val): whole board images (`pair`) go to one side; within each board group,
    ~val_frac of the pairs go to validation and ~calib_frac to calibration."""
    by_group = defaultdict(set)
    for r in rows:
        by_group[r["group"]].add(r["pair"])
    rng = np.random.default_rng(seed)
    val, cal = set(), set()
    for g in sorted(by_group):
        pairs = sorted(by_group[g])
        rng.shuffle(pairs)
        nv, nc = round(val_frac * len(pairs)), round(calib_frac * len(pairs))
        val.update(pairs[:nv]); cal.update(pairs[nv:nv + nc])
    tr = [r for r in rows if r["pair"] not in val and r["pair"] not in cal]
    return tr, [r for r in rows if r["pair"] in cal], [r for r in rows if r["pair"] in val]


def read_grey(path: str) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def resize01(a: np.ndarray, S: int) -> torch.Tensor:
    """[1, S, S] in [0, 1]: v / 255, bilinear half-pixel, no antialias."""
    x = torch.from_numpy(a.astype(np.float32))[None, None] / np.float32(255)
    return F.interpolate(x, size=(S, S), mode="bilinear", align_corners=False, antialias=False)[0]


def load_tensors(rows, S_full: int, S_coarse: int, cache: str | None = None):
    """(full [N,1,Sf,Sf], coarse [N,1,Sc,Sc]) in [0, 1], float16 storage, cached in `cache`."""
    if cache and os.path.exists(cache):
        d = torch.load(cache)
        if d["paths"] == [r["path"] for r in rows]:
            return d["full"], d["coarse"]
    full = torch.empty(len(rows), 1, S_full, S_full, dtype=torch.float16)
    coarse = torch.empty(len(rows), 1, S_coarse, S_coarse, dtype=torch.float16)
    for i, r in enumerate(rows):
        a = read_grey(os.path.join(DATA_DIR, r["path"]))
        full[i] = resize01(a, S_full); coarse[i] = resize01(a, S_coarse)
    if cache:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        torch.save({"paths": [r["path"] for r in rows], "full": full, "coarse": coarse}, cache + ".tmp")
        os.replace(cache + ".tmp", cache)
    return full, coarse


def augment(xs, g: torch.Generator):
    """The same random flip / rot90 / brightness-contrast for each sample across the tensors in xs
    (e.g. full and coarse of the same sites). xs: list of [B, 1, S, S] in [0, 1]."""
    B = xs[0].shape[0]
    k = torch.randint(0, 4, (B,), generator=g)
    flip = torch.rand(B, generator=g) < 0.5
    a = 1 + (torch.rand(B, generator=g) - 0.5) * 0.3
    b = (torch.rand(B, generator=g) - 0.5) * 0.1
    out = []
    for x in xs:
        x = x.float().clone()
        for r in range(1, 4):
            m = k == r
            if m.any():
                x[m] = torch.rot90(x[m], r, (2, 3))
        x[flip] = x[flip].flip(3)
        out.append((x * a[:, None, None, None] + b[:, None, None, None]).clamp(0, 1))
    return out
