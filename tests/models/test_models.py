#!/usr/bin/env python3
"""Consistency checks of models/<name>/ (numpy + safetensors only; no torch). Run from the repo root:
    python3 tests/models/test_models.py
- the SEM generator (tools/train/synth_sem.py) is deterministic: same seed -> same bytes, equal to
  the SHA-256 recorded here;
- goldens.safetensors: names, shapes and dtypes match config.json; the `paths` exist;
- input_full / input_coarse equal a numpy re-implementation of the doc's preprocessing (bilinear,
  half-pixel centres, f32 scale) on those files within 4e-6 (PyTorch rounds the source coordinate of a
  downscale differently from the doc's f32 formula: up to ~2e-6 measured on the 96/48-px wafer model's
  samples, grids of up to 212 dies to 48 px, values in [-1, 1]; the engine itself is checked against
  the goldens, not against this numpy code);
- `selected` is ascending, unique, in range and equals the top-K of `rank_scores` (ties -> lower index);
- the argmax of fine_logits vs the samples' labels is printed (recorded).
Exit 0 pass, 1 fail, 77 skip (numpy/safetensors missing).
"""
import json
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
try:
    import numpy as np
    from safetensors.numpy import load_file
    from safetensors import safe_open
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e}")
    sys.exit(77)
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import png  # noqa: E402  (numpy + zlib)

# SHA-256 of synth_sem.digest(n=8, seed=1234, domain="source") (images + labels bytes)
SEM_DIGEST = "f97a7e3a98db00dca1759ea10c6e88c5de5452d82bbd7c3b9077f5a231789562"
MODELS = ["awc-wm811k", "adc-pcb", "adc-optical"]
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def resize_bilinear(x: np.ndarray, S: int) -> np.ndarray:
    """Doc, Preprocessing step 2, in float32. x: [h, w] float32 -> [S, S]."""
    def axis(n):
        scale = np.float32(n) / np.float32(S)
        d = np.arange(S, dtype=np.float32)
        s = (d + np.float32(0.5)) * scale - np.float32(0.5)
        s = np.maximum(s, np.float32(0))
        i0 = np.floor(s).astype(np.int64)
        i1 = np.minimum(i0 + 1, n - 1)
        t = (s - i0.astype(np.float32)).astype(np.float32)
        return i0, i1, t
    h, w = x.shape
    y0, y1, ty = axis(h)
    x0, x1, tx = axis(w)
    tx = tx[None, :]; ty = ty[:, None]
    one = np.float32(1)
    a00 = x[y0][:, x0]; a01 = x[y0][:, x1]; a10 = x[y1][:, x0]; a11 = x[y1][:, x1]
    top = (one - tx) * a00 + tx * a01
    bot = (one - tx) * a10 + tx * a11
    return ((one - ty) * top + ty * bot).astype(np.float32)


def preprocess(raw: np.ndarray, inp: dict, S: int) -> np.ndarray:
    """[H, W] or [C, H, W] -> [C, S, S] (each channel resized alone)."""
    mv = inp["max_value_u16"] if raw.dtype == np.uint16 else inp["max_value_u8"]
    x = raw.astype(np.float32) / np.float32(mv)
    planes = x[None] if x.ndim == 2 else x
    y = np.stack([resize_bilinear(p, S) for p in planes])
    return (y - np.float32(inp["mean"])) / np.float32(inp["std"])


def load_input(p):
    """None for JPEG (no decoder without Pillow here): the C++ OracleGoldens test decodes those with
    the engine's libjpeg-turbo path and compares them with the goldens' inputs."""
    if p.endswith((".jpg", ".jpeg")):
        return None
    return np.load(p) if p.endswith(".npy") else png.read(p)


def test_generator():
    import synth_sem as G
    t = time.time()
    a, ya, _ = G.generate(3, 1234, "source", defect_frac=0.5)
    b, yb, _ = G.generate(3, 1234, "source", defect_frac=0.5)
    check(a.tobytes() == b.tobytes() and (ya == yb).all(), "SEM generator: same seed gave different bytes")
    c, _, _ = G.generate(1, 1234, "source", defect_frac=0.5, start=2)
    check(c[0].tobytes() == a[2].tobytes(), "SEM generator: image i depends on n/start")
    h = G.digest()
    check(h == SEM_DIGEST, f"SEM generator digest {h} != recorded {SEM_DIGEST} (generator changed, or this "
                           "numpy/CPU computes exp/sqrt differently)")
    print(f"generator: deterministic, digest {h[:16]}.. ({time.time() - t:.1f}s)")


def test_model(name):
    d = os.path.join(ROOT, "models", name)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    a = cfg["arch"]
    check(cfg["format"] == "triage-checkpoint-config" and cfg["format_version"] == 1, f"{name}: config format")
    check(cfg["good_label"] is None or cfg["good_label"] in cfg["labels"], f"{name}: good_label not in labels")
    Sf, Sc, P, D, K = a["img_full"], a["img_coarse"], a["patch"], a["dim"], a["topk"]
    Gc = (Sc // P) ** 2
    ncls = len(cfg["labels"])
    # weights: names and shapes of the doc's table
    w = load_file(os.path.join(d, "model.safetensors"))
    c1, c2 = a["stem_channels"]
    exp = {"stem.0.conv.weight": (c1, a["in_chans"], 3, 3), "stem.1.conv.weight": (c2, c1, 3, 3),
           "patch.weight": (D, c2, P // 4, P // 4), "patch.bias": (D,), "cls_token": (1, 1, D),
           "pos_coarse": (1, 1 + Gc, D), "pos_fine": (1, 1 + 4 * Gc, D), "norm.weight": (D,),
           "head.weight": (ncls, D), "head.bias": (ncls,), "reuse.norm.weight": (D,),
           "reuse.fc1.weight": (a["reuse_hidden"], D), "reuse.fc2.weight": (D, a["reuse_hidden"])}
    for i in range(a["depth"]):
        exp[f"blocks.{i}.attn.qkv.weight"] = (3 * D, D)
        exp[f"blocks.{i}.mlp.fc1.weight"] = (a["mlp_ratio"] * D, D)
    for j, c in ((0, c1), (1, c2)):
        for t in ("weight", "bias", "running_mean", "running_var"):
            exp[f"stem.{j}.bn.{t}"] = (c,)
    for k, s in exp.items():
        check(k in w and tuple(w[k].shape) == s, f"{name}: weight {k} {tuple(w[k].shape) if k in w else None} != {s}")
    check(all(v.dtype == np.float32 for k, v in w.items() if not k.endswith("num_batches_tracked")),
          f"{name}: weights not all f32")

    gp = os.path.join(d, "goldens.safetensors")
    g = load_file(gp)
    with safe_open(gp, "np") as f:
        meta = f.metadata()
    paths = json.loads(meta["paths"])
    labels = json.loads(meta["labels"])
    gK = int(meta["K"])
    n = len(paths)
    want_n = 8 if a["in_chans"] == 3 else 16  # tools/train/export_goldens.py N_COLOUR / N
    check(n == want_n, f"{name}: {n} golden inputs, want {want_n}")
    check(gK == K, f"{name}: goldens K {gK} != config topk {K}")
    C = a["in_chans"]
    check(cfg["input"].get("channels", 1) == C, f"{name}: input.channels != arch.in_chans")
    shapes = {"input_full": (n, C, Sf, Sf), "input_coarse": (n, C, Sc, Sc), "coarse_embed": (n, Gc, D),
              "coarse_block0": (n, 1 + Gc, D), "coarse_logits": (n, ncls), "rank_scores": (n, Gc),
              "selected": (n, K), "fine_logits": (n, ncls), "fine_all_logits": (n, ncls)}
    for k, s in shapes.items():
        check(k in g and tuple(g[k].shape) == s, f"{name}: golden {k} shape {g[k].shape if k in g else None} != {s}")
        if k in g:
            want = np.int64 if k == "selected" else np.float32
            check(g[k].dtype == want, f"{name}: golden {k} dtype {g[k].dtype} != {want}")
    worst = 0.0
    skipped_pre = 0
    for i, p in enumerate(paths):
        fp = os.path.join(d, p)
        check(os.path.isfile(fp), f"{name}: golden path {p} missing")
        if not os.path.isfile(fp):
            continue
        raw = load_input(fp)
        if raw is None:
            skipped_pre += 1
            continue
        for key, S in (("input_full", Sf), ("input_coarse", Sc)):
            ref = preprocess(raw, cfg["input"], S)
            err = float(np.abs(ref - g[key][i]).max())
            worst = max(worst, err)
            check(err <= 4e-6, f"{name}: {key}[{i}] ({p}) differs from the numpy preprocessing by {err:.3g}")
    sel = g["selected"]; r = g["rank_scores"]
    for i in range(n):
        s = sel[i]
        check(np.all(np.diff(s) > 0) and s.min() >= 0 and s.max() < Gc, f"{name}: selected[{i}] not ascending/unique/in range")
        top = np.sort(np.argsort(-r[i], kind="stable")[:K])
        check(np.array_equal(top, s), f"{name}: selected[{i}] {s.tolist()} != top-K {top.tolist()}")
    pred = [cfg["labels"][j] for j in g["fine_logits"].argmax(1)]
    pred_c = [cfg["labels"][j] for j in g["coarse_logits"].argmax(1)]
    ok = sum(p == l for p, l in zip(pred, labels))
    okc = sum(p == l for p, l in zip(pred_c, labels))
    pre = (f"max preprocessing diff {worst:.2g}" if skipped_pre < n else
           "JPEG inputs: preprocessing checked by the C++ OracleGoldens test")
    print(f"{name}: goldens ok ({pre}); fine argmax == label {ok}/{n}, coarse {okc}/{n}")
    for p, l, q in zip(paths, labels, pred):
        if l != q:
            print(f"   {p}: label {l}, fine {q}")


if __name__ == "__main__":
    t = time.time()
    test_generator()
    for m in MODELS:
        test_model(m)
    print(f"{'FAILED' if FAILS else 'passed'} in {time.time() - t:.1f}s")
    sys.exit(1 if FAILS else 0)
