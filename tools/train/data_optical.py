"""Optical die-defect review images (/work/shared/data/optical): index, split by `defect_id`, and the
engine's preprocessing of every image at both resolutions (3 channels), cached.

Images are colour JPEGs (longer side <= 256 px, most 199x256 or 224x224). Each is resized straight to
S x S at both resolutions (bilinear, half-pixel, no antialias, per axis: model.preprocess), as the engine
does, so non-square images are stretched, never cropped. The engine cannot decode JPEG until the
real-world-inputs issue lands; tools/train/make_samples.py writes the samples as 3-channel NPY.
No good class: every image is a real defect (GOOD is None).
"""
from __future__ import annotations

import csv
import os
from common import grouped_split

import numpy as np
import torch
import torch.nn.functional as F

from data_deeppcb import augment  # noqa: F401  (same flips / rot90 / brightness-contrast; any channel count)

DATA_DIR = os.environ.get("OPTICAL_DIR", "/work/shared/data/optical")
LABELS = ["block_etch", "coating_bad", "particle", "piq_particle", "po_contamination", "scratch", "sez_burnt"]
GOOD = None


def load_index(data_dir: str = DATA_DIR):
    with open(os.path.join(data_dir, "labels.csv")) as f:
        return list(csv.DictReader(f))


def split(rows, seed: int = 0, val_frac: float = 0.2, calib_frac: float = 0.1):
    """(train, calib, val) by defect_id (all views of one defect on one side), stratified by class."""
    return grouped_split(rows, "label", "defect_id", seed, val_frac, calib_frac)


def read_rgb(path: str) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def resize01(a: np.ndarray, S: int) -> torch.Tensor:
    """[3, S, S] in [0, 1]: v / 255, bilinear half-pixel, no antialias."""
    x = torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)[None] / np.float32(255)
    return F.interpolate(x, size=(S, S), mode="bilinear", align_corners=False, antialias=False)[0]


def load_tensors(rows, S_full: int, S_coarse: int, cache: str | None = None):
    """(full [N,3,Sf,Sf], coarse [N,3,Sc,Sc]) in [0, 1], float16 storage, cached in `cache`."""
    if cache and os.path.exists(cache):
        d = torch.load(cache)
        if d["paths"] == [r["path"] for r in rows] and d["full"].shape[-1] == S_full:
            return d["full"], d["coarse"]
    full = torch.empty(len(rows), 3, S_full, S_full, dtype=torch.float16)
    coarse = torch.empty(len(rows), 3, S_coarse, S_coarse, dtype=torch.float16)
    for i, r in enumerate(rows):
        a = read_rgb(os.path.join(DATA_DIR, r["path"]))
        full[i] = resize01(a, S_full); coarse[i] = resize01(a, S_coarse)
    if cache:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        torch.save({"paths": [r["path"] for r in rows], "full": full, "coarse": coarse}, cache + ".tmp")
        os.replace(cache + ".tmp", cache)
    return full, coarse
