"""Write the sample inputs shipped with the models (and used by the goldens: the first 16 rows).

  python3 tools/train/make_samples.py awc   # models/awc-wm811k/samples: 20 validation-lot wafer maps
  python3 tools/train/make_samples.py pcb   # models/adc-pcb/samples: 20 DeepPCB validation sites
  python3 tools/train/make_samples.py optical  # models/adc-optical/samples: 20 validation JPEGs
"""
from __future__ import annotations

import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

WM_NOTICE = """WM-811K wafer maps (samples in this folder)

These wafer maps are drawn from the public WM-811K / LSWMD data set (via
/work/shared/data/wm811k, itself drawn from the public copies in the GitHub repositories
gc22-shin/WaferGuard, mohithmanjunath04-debug/AI-Semiconductor-Wafer-Defect-Detection and
caslabai/wafer-inspection).

WM-811K: Copyright 2015 Jyh-Shing Roger Jang. Redistribution and use, with or without
modification, are permitted provided that the copyright notice is retained and the data is
accompanied by these two citations:
- M.-J. Wu, J.-S. R. Jang and J.-L. Chen, "Wafer Map Failure Pattern Recognition and Similarity
  Ranking for Large-Scale Data Sets", IEEE Transactions on Semiconductor Manufacturing 28(1):1-12,
  2015.
- MIR-WM811K: Dataset for wafer map failure pattern recognition, http://mirlab.org/dataset/public/
Keep this notice with any copy of these files.
"""


def write_labels(d, items):
    with open(os.path.join(d, "labels.csv"), "w") as f:
        f.write("path,label\n")
        for p, l in items:
            f.write(f"{p},{l}\n")


def awc():
    import data_wm811k as W
    from train_awc_staged import split3
    _, _, va = split3(W.load_index())
    va = sorted(va, key=lambda r: r["path"])
    rng = np.random.default_rng(7)
    by = {l: [r for r in va if r["label"] == l] for l in W.LABELS}
    picks = []
    # 16 first (goldens): 8 defect classes x 1 + 4 none + 4 more defects; then 4 more
    order = W.LABELS[:8] + ["none"] * 4 + ["Center", "Edge-Ring", "Scratch", "Loc"] + ["none", "Donut", "Edge-Loc", "Random"]
    used = set()
    for l in order:
        cand = [r for r in by[l] if r["path"] not in used]
        r = cand[int(rng.integers(len(cand)))]
        used.add(r["path"]); picks.append(r)
    d = os.path.join(ROOT, "models", "awc-wm811k", "samples")
    os.makedirs(d, exist_ok=True)
    items = []
    for r in picks:
        name = os.path.basename(r["path"])
        shutil.copyfile(os.path.join(W.DATA_DIR, r["path"]), os.path.join(d, name))
        items.append((name, r["label"]))
    write_labels(d, items)
    with open(os.path.join(d, "NOTICE-WM811K.txt"), "w") as f:
        f.write(WM_NOTICE)
    print(f"{len(items)} wafer maps -> {d}")


PCB_NOTICE = """DeepPCB inspection sites (samples in this folder)

These 20 sites are cut from DeepPCB test images (via /work/shared/data/deeppcb): GitHub repository
tangsanli5201/DeepPCB, MIT License, Copyright (c) 2019 tangsanli5201. Cite: S. Tang, F. He, X. Huang
and J. Yang, "Online PCB Defect Detector On A New PCB Defect Dataset", arXiv:1902.06197, 2019. The
dataset's authors note that some defects were added by hand to the tested images, following real
defect patterns. Keep this notice with any copy of these files.

MIT License: Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions: The above copyright notice and
this permission notice shall be included in all copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
"""


def pcb():
    """20 validation sites (boards never trained on): the 16 golden ones are 6 defect classes x 2 +
    4 none, then 4 more none (most flagged sites in production are nuisance)."""
    import data_deeppcb as D
    _, _, va = D.split_by_pair(D.load_index())
    va = sorted(va, key=lambda r: r["path"])
    rng = np.random.default_rng(11)
    order = D.LABELS[:6] + ["none"] * 2 + D.LABELS[:6] + ["none"] * 2 + ["none"] * 4
    used, picks = set(), []
    for l in order:
        cand = [r for r in va if r["label"] == l and r["path"] not in used]
        r = cand[int(rng.integers(len(cand)))]
        used.add(r["path"]); picks.append(r)
    d = os.path.join(ROOT, "models", "adc-pcb", "samples")
    os.makedirs(d, exist_ok=True)
    items = []
    for r in picks:
        name = os.path.basename(r["path"])
        shutil.copyfile(os.path.join(D.DATA_DIR, r["path"]), os.path.join(d, name))
        items.append((name, r["label"]))
    write_labels(d, items)
    with open(os.path.join(d, "NOTICE-DeepPCB.txt"), "w") as f:
        f.write(PCB_NOTICE)
    print(f"{len(items)} DeepPCB sites -> {d}")


OPTICAL_NOTICE = """Optical die-defect review images (samples in this folder)

These 20 colour JPEG images are real optical defect-review images of dies from a fab (via
/work/shared/data/optical): a Roboflow export ("wafer-defect") kept in the GitHub repository
JAGANNATHANJP/Wafer-Defect-Classification (MIT License); the class of each image is the class of its
annotated defect polygons. The images' own terms are not stated beyond that: they are shipped here
only as a handful of samples, for development and evaluation. Keep this notice with any copy of
these files.
"""


def optical():
    """20 validation images (defects never trained on, all views of a defect on one side): the 16
    golden ones are the 7 classes x 2 + 2 more, then 4 more; one image per defect_id."""
    import data_optical as O
    _, _, va = O.split(O.load_index())
    va = sorted(va, key=lambda r: r["path"])
    rng = np.random.default_rng(12)
    order = O.LABELS * 2 + O.LABELS[:6]
    used, picks = set(), []
    for l in order:
        cand = [r for r in va if r["label"] == l and r["defect_id"] not in used]
        r = cand[int(rng.integers(len(cand)))]
        used.add(r["defect_id"]); picks.append(r)
    d = os.path.join(ROOT, "models", "adc-optical", "samples")
    os.makedirs(d, exist_ok=True)
    items = []
    for r in picks:
        name = os.path.basename(r["path"])
        shutil.copyfile(os.path.join(O.DATA_DIR, r["path"]), os.path.join(d, name))
        items.append((name, r["label"]))
    write_labels(d, items)
    with open(os.path.join(d, "NOTICE-optical.txt"), "w") as f:
        f.write(OPTICAL_NOTICE)
    print(f"{len(items)} optical review images -> {d}")


if __name__ == "__main__":
    for a in sys.argv[1:] or ["awc", "pcb", "optical"]:
        {"awc": awc, "pcb": pcb, "optical": optical}[a]()
