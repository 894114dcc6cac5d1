"""Reference routing in PyTorch, for the engine's router parity test (tests/router).

  python3 tools/train/route_reference.py [models/awc-wm811k models/adc-pcb models/adc-optical] [--out tests/router]

For each model: runs model.py (float32, eval mode) on the goldens' preprocessed inputs (checked
against the goldens' coarse / fine logits and selection), then applies the router rule, written here
from DESIGN.md "Router and escape safety" and docs/model-family.md (router.* keys), under several
threshold sets (a model without a good class, good_label null: good = -1, no good exit, the fine
decision is the argmax):
  coarse pass: exit with the most probable defect class when its P >= coarse_defect; else exit `good`
  when P(good) >= coarse_good; else escalate. Fine pass: `good` when P(good) >= fine_good, else the
  most probable defect class. Review: P(decided) < review.
Writes <out>/routes_<model>.json: for every set and golden image the route, class and review flag,
plus the margin (distance of the deciding probabilities to the thresholds they were compared with):
the engine's f32 probabilities differ from PyTorch's by ~1e-6, so only decisions with a margin above
the test's tolerance are compared. The file records the checkpoint's SHA-256 (the engine test checks it
against the .trw's source.sha256: a replaced checkpoint needs this script re-run).
Sets: `uncalibrated` (converter defaults), `calibrated` (models/<name>/router.json when present), and
`split` (thresholds put in the widest gaps of the goldens' probabilities, so that the 16 images take
every route: coarse defect exit, coarse good exit, fine good, fine defect, as far as the model allows;
fine_good kept <= coarse_good, which the engine requires). The engine test opens each with
TRIAGE_OPEN_ALLOW_UNCALIBRATED (these are the file's thresholds, not the fail-safe).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_goldens import load_model  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def top_defect(p: np.ndarray, good: int) -> int:
    best = -1
    for i in range(len(p)):
        if i != good and (best < 0 or p[i] > p[best]):
            best = i
    return best


def route(pc: np.ndarray, pf: np.ndarray, good: int, t: dict):
    """(route, class, review, margin) of one image under thresholds t (comparisons in float64)."""
    cd, cg, fg, rv = t["coarse_defect_threshold"], t["coarse_good_threshold"], t["fine_good_threshold"], t["review_threshold"]
    d = top_defect(pc, good)
    margins = [abs(float(pc[d]) - cd)]
    if float(pc[d]) >= cd:
        r, c, p = "coarse", d, pc
    elif good < 0:  # no good class: no good exit; the fine decision is the argmax
        r, p = "fine", pf
        c = top_defect(pf, good)
    else:
        margins.append(abs(float(pc[good]) - cg))
        if float(pc[good]) >= cg:
            r, c, p = "coarse", good, pc
        else:
            margins.append(abs(float(pf[good]) - fg))
            r, p = "fine", pf
            c = good if float(pf[good]) >= fg else top_defect(pf, good)
    if c != good:  # a defect class is the argmax over the defect classes: it must be a clear one
        others = [float(p[i]) for i in range(len(p)) if i not in (good, c)]
        if others:
            margins.append(float(p[c]) - max(others))
    if t.get("class_review_thresholds"):  # the reject bin: each class against its own review threshold
        rv = t["class_review_thresholds"][c]
    margins.append(abs(float(p[c]) - rv))
    return r, int(c), bool(float(p[c]) < rv), float(min(margins))


def gap_threshold(values):
    """Midpoint of the widest gap between two of the sorted values, as a threshold that splits them
    (0.5 when there are fewer than two values)."""
    v = sorted(float(x) for x in values)
    if len(v) < 2:
        return 0.5
    gaps = [(v[i + 1] - v[i], (v[i + 1] + v[i]) / 2) for i in range(len(v) - 1)]
    return max(gaps)[1]


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@torch.no_grad()
def reference(d: str, out_dir: str) -> None:
    torch.set_num_threads(2)
    m, cfg = load_model(d)
    g = load_file(os.path.join(d, "goldens.safetensors"))
    with open(os.path.join(d, "goldens.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(n)).get("__metadata__", {})
    paths = json.loads(meta["paths"])
    co = m.coarse(g["input_coarse"])
    sel = m.split(co, m.K)[0]
    fine = m.fine(g["input_full"], co, m.K)
    # The model must still be the one the goldens were made from.
    assert torch.allclose(co.logits, g["coarse_logits"], atol=1e-4), "goldens are stale: re-run export_goldens.py"
    assert torch.equal(sel, g["selected"]), "goldens are stale (selection)"
    assert torch.allclose(fine, g["fine_logits"], atol=1e-4), "goldens are stale (fine logits)"
    pc = torch.softmax(co.logits, -1).numpy().astype(np.float64)
    pf = torch.softmax(fine, -1).numpy().astype(np.float64)
    labels = cfg["labels"]
    good = labels.index(cfg["good_label"]) if cfg.get("good_label") is not None else -1

    sets = [("uncalibrated", {"coarse_good_threshold": 2.0, "coarse_defect_threshold": 0.9,
                              "fine_good_threshold": 0.5, "review_threshold": 0.6})]
    rj = os.path.join(d, "router.json")
    if os.path.exists(rj):
        with open(rj) as f:
            r = json.load(f)["router"]
        cal = {k: float(r[k]) for k in ("coarse_good_threshold", "coarse_defect_threshold", "fine_good_threshold",
                                        "review_threshold")}
        if "class_review_thresholds" in r:
            cal["class_review_thresholds"] = [float(v) for v in r["class_review_thresholds"]]
        sets.append(("calibrated", cal))
    top_def = [pc[i][top_defect(pc[i], good)] for i in range(len(pc))]
    cd = gap_threshold(top_def)
    if good >= 0:
        rest = [pc[i][good] for i in range(len(pc)) if top_def[i] < cd]
        cg = gap_threshold(rest)
        esc = [pf[i][good] for i in range(len(pc)) if top_def[i] < cd and pc[i][good] < cg]
        # The engine refuses coarse_good < fine_good: the fine threshold splits the escalated images'
        # P(good) below cg (cg itself closes the range).
        below = [v for v in esc if v < cg]
        fg = gap_threshold(below + [cg]) if below else min(0.5, cg)
    else:  # no good class: the good thresholds are never read
        cg, fg = 2.0, 0.5
    sets.append(("split", {"coarse_good_threshold": cg, "coarse_defect_threshold": cd, "fine_good_threshold": fg,
                           "review_threshold": gap_threshold([max(p) for p in pf] + [max(p) for p in pc])}))

    out = {"model": cfg["model_name"], "source_sha256": sha256_file(os.path.join(d, "model.safetensors")),
           "goldens_sha256": sha256_file(os.path.join(d, "goldens.safetensors")), "paths": paths,
           "labels": labels, "good": good, "sets": []}
    for name, t in sets:
        imgs = []
        for i in range(len(paths)):
            r, c, rv, mg = route(pc[i], pf[i], good, t)
            imgs.append({"route": r, "class": c, "review": rv, "margin": mg})
        out["sets"].append({"name": name, "thresholds": t, "images": imgs})
        kinds = sorted({(x["route"], "good" if good >= 0 and x["class"] == good else "defect") for x in imgs})
        print(f"{cfg['model_name']} {name}: routes {kinds}, min margin {min(x['margin'] for x in imgs):.2e}")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"routes_{cfg['model_name']}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"-> {path}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=["models/awc-wm811k", "models/adc-pcb", "models/adc-optical"])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "router"))
    a = ap.parse_args()
    for d in a.models:
        reference(d, a.out)
