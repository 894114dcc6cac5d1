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
from common import grouped_split

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
    return grouped_split(rows, "group", "pair", seed, val_frac, calib_frac)


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


BOX_TYPES = {1: "open", 2: "short", 3: "mousebite", 4: "spur", 5: "copper", 6: "pin-hole"}


def read_boxes(pair: str, data_dir: str = DATA_DIR):
    """[(x1, y1, x2, y2, label)] of boards/<pair>.txt (comma- or space-separated)."""
    out = []
    with open(os.path.join(data_dir, "boards", pair + ".txt")) as f:
        for line in f:
            v = line.replace(",", " ").split()
            if len(v) == 5:
                x1, y1, x2, y2, t = map(int, v)
                out.append((x1, y1, x2, y2, BOX_TYPES[t]))
    return out


def cut_windows(pair: str, rng: np.random.Generator, data_dir: str = DATA_DIR, max_none: int = 3):
    """New sites of one board image by the README's rule, with fresh jitter: one per defect box (side
    max(128, 1.6 x the longer box side) rounded up to a multiple of 8, centred with a uniform jitter of up
    to side/8, clamped inside the image) and up to max_none `none` windows (side 128 or 136..192) that
    overlap no box by an 8 px margin. [(window uint8 [s, s], label)]."""
    img = read_grey(os.path.join(data_dir, "boards", pair + "_test.jpg"))
    H, W = img.shape
    boxes = read_boxes(pair, data_dir)
    out = []
    for x1, y1, x2, y2, lab in boxes:
        s = max(128, int(np.ceil(1.6 * max(x2 - x1, y2 - y1) / 8.0)) * 8)
        s = min(s, H, W)
        cx = (x1 + x2) / 2 + rng.uniform(-s / 8, s / 8)
        cy = (y1 + y2) / 2 + rng.uniform(-s / 8, s / 8)
        x = int(np.clip(round(cx - s / 2), 0, W - s)); y = int(np.clip(round(cy - s / 2), 0, H - s))
        out.append((img[y:y + s, x:x + s], lab))
    n_none = 0
    for _ in range(200):
        if n_none >= max_none:
            break
        s = 128 if rng.random() < 0.5 else int(rng.integers(17, 25)) * 8
        x = int(rng.integers(0, W - s + 1)); y = int(rng.integers(0, H - s + 1))
        if all(x + s + 8 <= bx1 or bx2 + 8 <= x or y + s + 8 <= by1 or by2 + 8 <= y
               for bx1, by1, bx2, by2, _ in boxes):
            out.append((img[y:y + s, x:x + s], "none")); n_none += 1
    return out


def extra_windows(rows, copies: int, S_full: int, S_coarse: int, seed: int = 0, cache: str | None = None):
    """`copies` fresh cuts (cut_windows) of every board image in rows (the training pairs only):
    (full [N,1,Sf,Sf], coarse [N,1,Sc,Sc], labels [N] as strings), float16 storage, cached."""
    pairs = sorted({r["pair"] for r in rows})
    if cache and os.path.exists(cache):
        d = torch.load(cache)
        if d["pairs"] == pairs and d["copies"] == copies and d["seed"] == seed:
            return d["full"], d["coarse"], d["labels"]
    full, coarse, labels = [], [], []
    for c in range(copies):
        for p in pairs:
            rng = np.random.default_rng([seed, c, int(p)])
            for win, lab in cut_windows(p, rng):
                full.append(resize01(win, S_full).half()); coarse.append(resize01(win, S_coarse).half())
                labels.append(lab)
    full, coarse = torch.stack(full), torch.stack(coarse)
    if cache:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        torch.save({"pairs": pairs, "copies": copies, "seed": seed, "full": full, "coarse": coarse,
                    "labels": labels}, cache + ".tmp")
        os.replace(cache + ".tmp", cache)
    return full, coarse, labels
