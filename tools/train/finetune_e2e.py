#!/usr/bin/env python3
"""End-to-end fine-tuning of a shipped cfvit on a few labelled images: the PyTorch reference that
`triage adapt` (head only, C++) is measured against in bench/adapt.

    python3 tools/train/finetune_e2e.py --model models/adc-pcb --train train.csv --test test.csv \
        --steps 300 --threads 1 [--json out.json]

The head is replaced by a new one for the train CSV's sorted labels (zero-initialised); every parameter
is trained (AdamW, backbone lr 1e-4, head lr 1e-3, cosine, batch 16, random flips and 90-degree
rotations: SEM defect images have no preferred orientation), on the sum of the coarse and the fine
pass's cross-entropy, with class-balanced sampling. BatchNorm stays frozen (the shipped statistics).
Reports the test accuracy of the fine pass (K = arch.topk, as the engine's forced fine route) and of the
coarse pass. CSVs: `path,label` (paths relative to the CSV). Grey images are replicated for a
3-channel model (the engine's channel rule)."""
import argparse
import csv
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import CFViT, preprocess_pair  # noqa: E402


def read_csv(path):
    base = os.path.dirname(os.path.abspath(path))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [(os.path.join(base, r["path"]), r["label"]) for r in rows]


def load_images(rows, cfg):
    C = cfg["arch"]["in_chans"]
    fulls, coarses = [], []
    for p, _ in rows:
        a = np.asarray(Image.open(p))
        if a.ndim == 3 and C == 1:
            a = ((299 * a[..., 0].astype(np.uint32) + 587 * a[..., 1] + 114 * a[..., 2] + 500) // 1000).astype(np.uint8)
        if a.ndim == 2 and C == 3:
            a = np.repeat(a[..., None], 3, axis=2)
        if a.ndim == 3:
            a = np.ascontiguousarray(a.transpose(2, 0, 1))
        f, c = preprocess_pair(a, cfg["input"], cfg["arch"])
        fulls.append(f[0])
        coarses.append(c[0])
    return torch.stack(fulls), torch.stack(coarses)


def augment(f, c, g):
    k = int(torch.randint(0, 4, (1,), generator=g))
    flip = bool(torch.randint(0, 2, (1,), generator=g))
    f, c = torch.rot90(f, k, (-2, -1)), torch.rot90(c, k, (-2, -1))
    if flip:
        f, c = f.flip(-1), c.flip(-1)
    return f, c


def evaluate(model, f, c, y):
    model.eval()
    right_f = right_c = 0
    with torch.no_grad():
        for i in range(0, len(y), 32):
            lc, lf = model(f[i:i + 32], c[i:i + 32])
            right_c += int((lc.argmax(1) == y[i:i + 32]).sum())
            right_f += int((lf.argmax(1) == y[i:i + 32]).sum())
    return right_c / len(y), right_f / len(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="models/<name> (config.json + model.safetensors)")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--bs", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    tr, te = read_csv(args.train), read_csv(args.test)
    labels = sorted({l for _, l in tr})
    idx = {l: i for i, l in enumerate(labels)}
    t0 = time.time()
    ftr, ctr = load_images(tr, cfg)
    fte, cte = load_images(te, cfg)
    ytr = torch.tensor([idx[l] for _, l in tr])
    yte = torch.tensor([idx[l] for _, l in te])
    model = CFViT(cfg["arch"], num_classes=len(cfg["labels"]))
    model.load_state_dict(load_file(os.path.join(args.model, "model.safetensors")))
    model.bn_frozen = True
    model.head = torch.nn.Linear(model.head.in_features, len(labels))
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)
    head_params = list(model.head.parameters())
    hp = {id(p) for p in head_params}
    opt = torch.optim.AdamW([{"params": [p for p in model.parameters() if id(p) not in hp], "lr": 1e-4},
                             {"params": head_params, "lr": 1e-3}], weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, args.steps) / args.steps)))
    g = torch.Generator().manual_seed(args.seed)
    counts = torch.bincount(ytr, minlength=len(labels)).float()
    weights = (1.0 / counts)[ytr]
    for step in range(args.steps):
        model.train()
        b = torch.multinomial(weights, args.bs, replacement=True, generator=g)
        f, c = augment(ftr[b], ctr[b], g)
        lc, lf = model(f, c)
        loss = F.cross_entropy(lc, ytr[b]) + F.cross_entropy(lf, ytr[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    acc_c, acc_f = evaluate(model, fte, cte, yte)
    out = {"model": cfg["model_name"], "train_images": len(tr), "test_images": len(te), "labels": labels,
           "steps": args.steps, "seed": args.seed, "accuracy_fine": acc_f, "accuracy_coarse": acc_c,
           "seconds": time.time() - t0}
    print(json.dumps(out))
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(out, fh)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
