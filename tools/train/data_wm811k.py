"""WM-811K wafer maps (/work/shared/data/wm811k): loading, lot-wise split, augmentation,
and an optional synthetic generator of WM-811K-style failure patterns.

Maps are 2-D uint8: 0 = no die, 1 = passing die, 2 = failing die.
"""
from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict

import numpy as np

DATA_DIR = os.environ.get("WM811K_DIR", "/work/shared/data/wm811k")
LABELS = ["Center", "Donut", "Edge-Loc", "Edge-Ring", "Loc", "Near-full", "Random", "Scratch", "none"]
GOOD = "none"


def load_index(data_dir: str = DATA_DIR):
    with open(os.path.join(data_dir, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    return rows


def load_map(row, data_dir: str = DATA_DIR) -> np.ndarray:
    return np.load(os.path.join(data_dir, row["path"]))


def split_by_lot(rows, val_frac: float = 0.2, seed: int = 0):
    """Deterministic lot-wise split. Lots are grouped by their most common label (ties: first in
    LABELS order) and ~val_frac of each group's lots go to validation, so every class appears
    there; no lot is in both sets. Returns (train_rows, val_rows)."""
    lots = defaultdict(list)
    for r in rows:
        lots[r["lot"]].append(r)
    groups = defaultdict(list)
    for lot in sorted(lots):
        c = Counter(r["label"] for r in lots[lot])
        best = max(LABELS, key=lambda l: (c.get(l, 0), -LABELS.index(l)))
        groups[best].append(lot)
    rng = np.random.default_rng(seed)
    val_lots = set()
    for lab in LABELS:
        g = list(groups.get(lab, []))
        rng.shuffle(g)
        n_maps = sum(len(lots[l]) for l in g)
        taken = 0
        for lot in g:  # take lots until ~val_frac of this group's maps are in validation
            if taken >= val_frac * n_maps:
                break
            val_lots.add(lot)
            taken += len(lots[lot])
    train = [r for r in rows if r["lot"] not in val_lots]
    val = [r for r in rows if r["lot"] in val_lots]
    return train, val


# ----------------------------------------------------------------------------------------------
# Augmentation (on the raw die grid)


def augment(m: np.ndarray, rng: np.random.Generator, noise_max: float = 0.02) -> np.ndarray:
    """90-degree rotation, flip, and die-level noise: a small fraction of the dies inside the
    wafer flip pass<->fail. Never touches the outside (0)."""
    m = np.rot90(m, int(rng.integers(4)))
    if rng.random() < 0.5:
        m = m[:, ::-1]
    m = np.ascontiguousarray(m)
    p = rng.random() * noise_max
    if p > 0:
        inside = m > 0
        flip = (rng.random(m.shape) < p) & inside
        m = np.where(flip, 3 - m, m).astype(np.uint8)
    return m


# ----------------------------------------------------------------------------------------------
# Synthetic WM-811K-style maps


def wafer_shape(rng):
    """A random die grid (h, w) and the inside mask of a round wafer (with a flat/notch edge
    sometimes), like the 25x27 .. 70x70 grids of WM-811K."""
    h = int(rng.integers(25, 71))
    w = int(np.clip(h + rng.integers(-4, 5), 25, 72))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    ry, rx = h / 2 - rng.uniform(0, 0.8), w / 2 - rng.uniform(0, 0.8)
    ny, nx = (yy - cy) / ry, (xx - cx) / rx
    r = np.sqrt(ny ** 2 + nx ** 2)
    inside = r <= 1.0
    if rng.random() < 0.3:  # flat
        inside &= ny < rng.uniform(0.85, 0.97)
    return inside, r, np.arctan2(ny, nx), ny, nx


def synth_map(label: str, rng: np.random.Generator) -> np.ndarray:
    """Draws one map of the given class. Background: passing dies with a sparse random failure
    rate (0-4%); then the class pattern sets a failure probability field:
      Center: a disc around the centre; Donut: an annulus at mid radius; Edge-Loc: a blob touching
      the edge over a limited angle; Edge-Ring: a ring along the whole edge (sometimes most of it);
      Loc: a blob somewhere inside, away from the centre and the edge; Near-full: almost all dies
      fail; Random: failures scattered with a high rate over the whole wafer; Scratch: a thin
      (curved) line of failing dies; none: background only."""
    inside, r, th, ny, nx = wafer_shape(rng)
    h, w = inside.shape
    base = rng.uniform(0.0, 0.04)
    prob = np.full((h, w), base, np.float32)
    dens = rng.uniform(0.6, 0.95)
    if label == "Center":
        rad = rng.uniform(0.15, 0.45)
        oy, ox = rng.normal(0, 0.06, 2)
        d = np.sqrt((ny - oy) ** 2 + (nx - ox) ** 2)
        prob = np.where(d < rad, dens, prob)
    elif label == "Donut":
        r0 = rng.uniform(0.3, 0.55); wd = rng.uniform(0.1, 0.25)
        prob = np.where(np.abs(r - r0) < wd / 2, dens, prob)
        if rng.random() < 0.3:  # incomplete donut
            a0 = rng.uniform(-np.pi, np.pi)
            gap = np.abs(np.angle(np.exp(1j * (th - a0)))) < rng.uniform(0.3, 1.0)
            prob = np.where(gap, base, prob)
    elif label == "Edge-Loc":
        a0 = rng.uniform(-np.pi, np.pi); span = rng.uniform(0.3, 1.2)
        depth = rng.uniform(0.12, 0.3)
        ang = np.abs(np.angle(np.exp(1j * (th - a0))))
        prob = np.where((ang < span / 2) & (r > 1 - depth * (1 - ang / span)), dens, prob)
    elif label == "Edge-Ring":
        depth = rng.uniform(0.05, 0.15)
        ring = r > 1 - depth
        if rng.random() < 0.3:  # a large part of the ring only
            a0 = rng.uniform(-np.pi, np.pi)
            ring &= np.abs(np.angle(np.exp(1j * (th - a0)))) < rng.uniform(2.0, 3.0)
        prob = np.where(ring, dens, prob)
    elif label == "Loc":
        rr = rng.uniform(0.2, 0.7); a0 = rng.uniform(-np.pi, np.pi)
        oy, ox = rr * np.sin(a0), rr * np.cos(a0)
        sy, sx = rng.uniform(0.07, 0.2, 2)
        d = ((ny - oy) / sy) ** 2 + ((nx - ox) / sx) ** 2
        prob = np.where(d < 1, dens, prob)
    elif label == "Near-full":
        prob = np.full((h, w), rng.uniform(0.8, 0.98), np.float32)
    elif label == "Random":
        prob = np.full((h, w), rng.uniform(0.12, 0.45), np.float32)
    elif label == "Scratch":
        # a thin line (random start inside, direction, slight curvature), 1-2 dies wide
        n = int(rng.integers(1, 3))
        for _ in range(n):
            y0, x0 = rng.uniform(-0.6, 0.6, 2)
            a = rng.uniform(0, np.pi); ln = rng.uniform(0.4, 1.3); curv = rng.uniform(-0.8, 0.8)
            t = np.linspace(0, ln, 200)
            ang = a + curv * t
            py = y0 + np.cumsum(np.sin(ang)) * (ln / 200)
            px = x0 + np.cumsum(np.cos(ang)) * (ln / 200)
            iy = np.clip(np.round((py + 1) * (h - 1) / 2).astype(int), 0, h - 1)
            ix = np.clip(np.round((px + 1) * (w - 1) / 2).astype(int), 0, w - 1)
            line = np.zeros((h, w), bool)
            line[iy, ix] = True
            if rng.random() < 0.4:
                line[np.clip(iy + 1, 0, h - 1), ix] = True
            prob = np.where(line, rng.uniform(0.75, 1.0), prob)
    elif label != "none":
        raise ValueError(label)
    fail = rng.random((h, w)) < prob
    m = np.where(inside, np.where(fail, 2, 1), 0).astype(np.uint8)
    return m


def synth_set(n: int, seed: int):
    rng = np.random.default_rng(seed)
    maps, ys = [], []
    for i in range(n):
        y = i % len(LABELS)
        maps.append(synth_map(LABELS[y], rng))
        ys.append(y)
    return maps, np.array(ys)
