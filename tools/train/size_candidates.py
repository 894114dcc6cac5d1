"""Writes randomly initialised cfvit checkpoints for candidate wafer-model input sizes, so the engine's
latency per size can be measured (latency depends on the shapes only, not on the weights):

  python3 tools/train/size_candidates.py tools/train/runs/awc2/size
  # then, per candidate: build/triage convert DIR -o DIR.trw && build/triage bench DIR.trw ...
"""
from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_wm811k as W  # noqa: E402
from common import save_checkpoint  # noqa: E402
from model import CFViT, make_config  # noqa: E402
from train_awc_staged import INPUT, student_arch  # noqa: E402

# name: (img_full, patch, topk, dim, depth)
CANDIDATES = {
    "64-p8-k4": (64, 8, 4, 128, 6),
    "96-p8-k8": (96, 8, 8, 128, 6),
    "96-p12-k4": (96, 12, 4, 128, 6),
    "128-p16-k4": (128, 16, 4, 128, 6),
    "128-p8-k12": (128, 8, 12, 128, 6),
}


def main(out):
    torch.manual_seed(0)
    for name, (img, p, k, d, l) in CANDIDATES.items():
        arch = student_arch(img, p, k, d, l)
        m = CFViT(arch, num_classes=len(W.LABELS))
        save_checkpoint(m, make_config("awc-size-" + name, arch, W.LABELS, W.GOOD, INPUT), os.path.join(out, name))
        print(name, os.path.join(out, name))


if __name__ == "__main__":
    main(sys.argv[1])
