"""Deterministic generator of SEM-like defect review images (model B `adc-sem`).

    imgs16, labels, meta = generate(n, seed, domain="source", defect_frac=None)

224x224 grayscale, uint16 (8-bit: to_u8(imgs16) = round(v / 257)). Image i depends only on
(seed, i, domain, class mix), never on n: rng = default_rng([seed, i, domain_id]).

Background (material map M in [0, 1], anti-aliased):
  lines      line/space pattern, pitch and duty cycle varied, orientation near 0/90 deg (sometimes
             any angle), line-edge roughness (smooth noise added to the across-line coordinate);
  contacts   hole array (square or staggered), pitch, radius and small rotation varied, rough
             hole edges.
Rendering: material levels + SEM edge brightening (gradient magnitude of M), fine surface
texture, then surface defects, charging gradient (additive ramp + smooth blob), brightness drift
(gain, scan-line drift), Gaussian blur, shot noise (Poisson at a dose), offset/gain to 16 bit.

Classes (LABELS order): good; particle (bright dome with rim and shadow, r 1.5-12 px); bridge
(material across one space between two lines: lines only); open (a break in one line: lines
only); scratch (long thin straight or arced groove, dark or bright); residue (irregular smeared
blob that flattens the pattern); missing_contact (one contact hole absent or partly filled:
contacts only). A fraction HARD of defects is drawn on purpose hard: a particle of 1.5-2.5 px, a
3-4.5 px bridge or open, a 1 px faint scratch, a small faint residue, a half-filled hole - easy to
lose at half resolution (the coarse pass), visible at full resolution (the fine pass).

Domains: `source` (the tool the labelled set comes from) and `target` (a "new tool": other pitch,
dose/noise, blur, drift and charging ranges) - see DOMAINS.
"""
from __future__ import annotations

import hashlib
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # tiny matmuls: threads only add contention

import numpy as np

S = 224
LABELS = ["good", "particle", "bridge", "open", "scratch", "residue", "missing_contact"]
GOOD = "good"
HARD = 0.25

DOMAINS = {
    "source": dict(id=1, line_pitch=(12.0, 22.0), hole_pitch=(16.0, 26.0), dose=(70.0, 180.0),
                   blur=(0.5, 1.0), drift=0.06, charge=0.06, ler=(0.2, 0.8), gain=(0.85, 1.1)),
    "target": dict(id=2, line_pitch=(9.0, 28.0), hole_pitch=(13.0, 30.0), dose=(40.0, 130.0),
                   blur=(0.6, 1.3), drift=0.12, charge=0.12, ler=(0.3, 1.1), gain=(0.7, 1.2)),
}

_YY, _XX = np.mgrid[0:S, 0:S].astype(np.float32)


_INTERP = {}


def _interp_matrix(cells: int) -> np.ndarray:
    """[S, cells+1] linear-interpolation weights from a cells+1 grid to S samples."""
    if cells not in _INTERP:
        t = np.linspace(0, cells, S, dtype=np.float64)
        i0 = np.minimum(t.astype(np.int64), cells - 1)
        f = t - i0
        A = np.zeros((S, cells + 1), np.float64)
        A[np.arange(S), i0] = 1 - f
        A[np.arange(S), i0 + 1] += f
        _INTERP[cells] = A.astype(np.float32)
    return _INTERP[cells]


def _smooth_noise(rng, cells: int) -> np.ndarray:
    """Zero-mean, unit-ish smooth noise: a (cells+1)^2 random grid upsampled bilinearly to SxS."""
    g = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    A = _interp_matrix(cells)
    return (A @ g) @ A.T


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.05:
        return x
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1, dtype=np.float32) / sigma) ** 2)
    k /= k.sum()
    p = np.pad(x, ((r, r), (0, 0)), mode="edge")
    y = sum(k[i] * p[i:i + S] for i in range(2 * r + 1))
    p = np.pad(y, ((0, 0), (r, r)), mode="edge")
    return sum(k[i] * p[:, i:i + S] for i in range(2 * r + 1)).astype(np.float32)


def _edges(m: np.ndarray) -> np.ndarray:
    gy = np.zeros_like(m); gx = np.zeros_like(m)
    gy[1:-1] = (m[2:] - m[:-2]) * 0.5
    gx[:, 1:-1] = (m[:, 2:] - m[:, :-2]) * 0.5
    return np.minimum(np.sqrt(gy * gy + gx * gx) * 1.6, 1.0)


def _rot(theta):
    c, s = np.cos(theta), np.sin(theta)
    u = _XX * c + _YY * s
    v = -_XX * s + _YY * c
    return u, v


def _soft(d):
    """anti-aliased indicator of d > 0 (d in pixels)."""
    return np.clip(d + 0.5, 0.0, 1.0)


def _lines(rng, dom, label, hard):
    th = np.deg2rad(rng.choice([0.0, 90.0]) + rng.normal(0, 2.0)) if rng.random() < 0.8 else rng.uniform(0, np.pi)
    p = rng.uniform(*dom["line_pitch"])
    duty = rng.uniform(0.38, 0.6)
    u, v = _rot(th)
    u = u + rng.uniform(0, p)
    ler = rng.uniform(*dom["ler"]) * _smooth_noise(rng, 56)
    uu = u + ler
    k = np.round(uu / p)
    g = uu - k * p                                    # signed distance from the line centre
    hw = duty * p / 2
    M = _soft(hw - np.abs(g))
    # defect placement: a line/space near a random point away from the border
    cy, cx = rng.uniform(40, S - 40, 2)
    uc = (cx * np.cos(th) + cy * np.sin(th)) + (u - (_XX * np.cos(th) + _YY * np.sin(th)))[0, 0]
    vc = -cx * np.sin(th) + cy * np.cos(th)
    k0 = np.round(uc / p)
    loc = (cy, cx)
    if label == "bridge":
        L = rng.uniform(3.0, 4.5) if hard else rng.uniform(3.5, 14.0)
        space = (uu > k0 * p) & (uu < (k0 + 1) * p)
        b = _soft(L / 2 - np.abs(v - vc)) * space
        M = np.maximum(M, b.astype(np.float32))
    elif label == "open":
        gap = rng.uniform(3.0, 4.5) if hard else rng.uniform(3.5, 12.0)
        on = np.abs(uu - k0 * p) < p / 2
        o = _soft(gap / 2 - np.abs(v - vc)) * on
        M = M * (1 - o)
    return M, loc, dict(kind="lines", pitch=float(p), theta=float(th))


def _contacts(rng, dom, label, hard):
    th = np.deg2rad(rng.normal(0, 2.0))
    p = rng.uniform(*dom["hole_pitch"])
    pv = p * rng.uniform(0.9, 1.15)
    stagger = rng.random() < 0.3
    r = p * rng.uniform(0.22, 0.34)
    u, v = _rot(th)
    u = u + rng.uniform(0, p); v = v + rng.uniform(0, pv)
    kv = np.round(v / pv)
    uo = u + (0.5 * p * (kv % 2) if stagger else 0.0)
    ku = np.round(uo / p)
    du = uo - ku * p; dv = v - kv * pv
    d = np.sqrt(du * du + dv * dv) + 0.4 * _smooth_noise(rng, 40)
    H = _soft(r - d)                                  # hole indicator
    cy, cx = rng.uniform(40, S - 40, 2)
    if label == "missing_contact":
        iy, ix = int(cy), int(cx)
        tu, tv = ku[iy, ix], kv[iy, ix]
        sel = (ku == tu) & (kv == tv)
        cy, cx = float(_YY[sel].mean()), float(_XX[sel].mean())
        if hard:
            H = np.where(sel, H * _soft(0.5 * r - d), H)  # partly filled: a much smaller hole
        else:
            H = np.where(sel, 0.0, H)
    return (1.0 - H).astype(np.float32), (cy, cx), dict(kind="contacts", pitch=float(p), theta=float(th))


def _render_one(seed: int, i: int, label: str, domain: str):
    dom = DOMAINS[domain]
    rng = np.random.default_rng([seed, i, dom["id"], LABELS.index(label)])
    hard = label != GOOD and rng.random() < HARD
    if label in ("bridge", "open"):
        kind = "lines"
    elif label == "missing_contact":
        kind = "contacts"
    else:
        kind = "lines" if rng.random() < 0.6 else "contacts"
    if kind == "lines":
        M, (cy, cx), meta = _lines(rng, dom, label, hard)
    else:
        M, (cy, cx), meta = _contacts(rng, dom, label, hard)
    lo, hi = rng.uniform(0.15, 0.35), rng.uniform(0.42, 0.62)
    if rng.random() < 0.3:
        lo, hi = hi, lo                               # contrast inversion (material darker)
    sig = lo + (hi - lo) * M + rng.uniform(0.15, 0.35) * _edges(_blur(M, 0.7))
    sig += 0.02 * _smooth_noise(rng, 80)             # grain
    r2 = (_YY - cy) ** 2 + (_XX - cx) ** 2
    if label == "particle":
        r = rng.uniform(1.5, 2.5) if hard else rng.uniform(3.0, 12.0)
        amp = rng.uniform(0.4, 0.55) if hard else rng.uniform(0.25, 0.5)
        d = np.sqrt(r2)
        dome = np.sqrt(np.clip(1 - (d / r) ** 2, 0, 1))
        rim = np.exp(-((d - r) / 0.9) ** 2)
        sa = rng.uniform(0, 2 * np.pi)
        sh = np.sqrt((_YY - cy - 0.6 * r * np.sin(sa)) ** 2 + (_XX - cx - 0.6 * r * np.cos(sa)) ** 2)
        shadow = np.exp(-(sh / (1.2 * r)) ** 2) * (1 - _soft(r - d))
        sig = sig * (1 - _soft(r - d)) + _soft(r - d) * (0.55 + amp * dome) + 0.2 * rim - 0.1 * shadow
    elif label == "scratch":
        width = rng.uniform(0.8, 1.2) if hard else rng.uniform(1.2, 3.0)
        amp = (rng.uniform(0.13, 0.2) if hard else rng.uniform(0.15, 0.35)) * rng.choice([-1.0, 1.0])
        a = rng.uniform(0, np.pi)
        if rng.random() < 0.5:                        # straight
            dist = np.abs((_XX - cx) * np.sin(a) - (_YY - cy) * np.cos(a))
        else:                                         # arc of a large circle through (cy, cx)
            R = rng.uniform(120, 600)
            ox, oy = cx + R * np.sin(a), cy - R * np.cos(a)
            dist = np.abs(np.sqrt((_XX - ox) ** 2 + (_YY - oy) ** 2) - R)
        along = (_XX - cx) * np.cos(a) + (_YY - cy) * np.sin(a)
        half = rng.uniform(50, 160)
        m = _soft(width / 2 - dist) * _soft(half - np.abs(along))
        sig = sig + amp * m
    elif label == "residue":
        r = rng.uniform(5.0, 9.0) if hard else rng.uniform(9.0, 28.0)
        alpha = rng.uniform(0.45, 0.6) if hard else rng.uniform(0.55, 0.9)
        env = np.sqrt(r2) / r + 0.35 * _smooth_noise(rng, 24)
        m = np.clip((1.0 - env) * 4.0, 0, 1) * alpha
        level = rng.uniform(0.2, 0.7) + 0.05 * _smooth_noise(rng, 60)
        sig = sig * (1 - m) + m * level
    # charging: additive ramp + a smooth blob; drift: gain and scan-line (row) drift
    ca = rng.uniform(0, 2 * np.pi)
    sig = sig + dom["charge"] * rng.uniform(-1, 1) * ((_XX * np.cos(ca) + _YY * np.sin(ca)) / S - 0.5)
    sig = sig + dom["charge"] * 0.5 * _smooth_noise(rng, 3)
    gain = rng.uniform(*dom["gain"])
    rows = 1.0 + dom["drift"] * rng.uniform(-1, 1) * (_YY / S - 0.5)
    sig = sig * gain * rows
    sig = _blur(sig.astype(np.float32), rng.uniform(*dom["blur"]))
    dose = rng.uniform(*dom["dose"])
    sig = rng.poisson(np.clip(sig, 0.0, 1.5) * dose).astype(np.float32) / dose
    off = rng.uniform(0.02, 0.12)
    img = np.clip(off + 0.85 * sig, 0.0, 1.0) * 65535.0
    meta.update(hard=bool(hard), loc=[float(cy), float(cx)] if label != GOOD else None)
    return np.round(img).astype(np.uint16), meta


def class_sequence(n: int, seed: int, defect_frac=None):
    """Labels for images 0..n-1. defect_frac None: balanced over all classes (i mod 7).
    Otherwise image i is a defect with probability defect_frac (uniform over the 6 defect
    classes), decided by its own (seed, i) stream."""
    if defect_frac is None:
        return [LABELS[i % len(LABELS)] for i in range(n)]
    out = []
    for i in range(n):
        r = np.random.default_rng([seed, i, 99]).random(2)
        out.append(GOOD if r[0] >= defect_frac else LABELS[1 + int(r[1] * (len(LABELS) - 1))])
    return out


def generate(n: int, seed: int, domain: str = "source", defect_frac=None, start: int = 0):
    """Images start..start+n-1 of the stream (seed, domain, defect_frac)."""
    labs = class_sequence(start + n, seed, defect_frac)[start:]
    imgs = np.empty((n, S, S), np.uint16)
    metas = []
    for j, lab in enumerate(labs):
        imgs[j], m = _render_one(seed, start + j, lab, domain)
        metas.append(m)
    y = np.array([LABELS.index(l) for l in labs], np.int64)
    return imgs, y, metas


def to_u8(img16: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img16.astype(np.float32) / 257.0), 0, 255).astype(np.uint8)


def digest(n: int = 8, seed: int = 1234, domain: str = "source") -> str:
    imgs, y, _ = generate(n, seed, domain, defect_frac=0.5)
    h = hashlib.sha256(imgs.tobytes())
    h.update(y.tobytes())
    return h.hexdigest()


if __name__ == "__main__":
    import argparse
    import os
    import time
    ap = argparse.ArgumentParser(description="pre-generate a dataset to .npy (uint16 images, int64 labels)")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--domain", default="source", choices=list(DOMAINS))
    ap.add_argument("--defect-frac", type=float, default=None)
    ap.add_argument("--out", required=True, help="prefix: writes <out>_x.npy, <out>_y.npy, <out>_loc.npy "
                    "(defect centre row, col; NaN for good)")
    a = ap.parse_args()
    t = time.time()
    x, y, metas = generate(a.n, a.seed, a.domain, a.defect_frac)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    np.save(a.out + "_x.npy", x)
    np.save(a.out + "_y.npy", y)
    np.save(a.out + "_loc.npy", np.array([m["loc"] if m["loc"] is not None else [np.nan, np.nan]
                                          for m in metas], np.float32))
    dt = time.time() - t
    print(f"{a.n} images in {dt:.1f}s ({a.n/dt:.0f} img/s) -> {a.out}_x.npy; classes "
          f"{np.bincount(y, minlength=len(LABELS)).tolist()}")
