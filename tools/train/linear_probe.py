#!/usr/bin/env python3
"""The PyTorch check of `triage adapt`'s C++ logistic-regression fit: the same objective on the same
features (the CSVs `triage adapt --features-csv` writes), solved independently with torch L-BFGS in
float64, then scored on held-out features.

    python3 tools/train/linear_probe.py --train train_features.csv --test test_features.csv --lambda L

Objective (tools/adapt/softmax_regression.h, prior 0 as in --classes replace): features standardised
with the training rows' mean and standard deviation; class-balanced sample weights; mean weighted
cross-entropy + lambda/2 (||Wz||^2 + ||bz||^2). Prints one JSON line: accuracy per pass on the test rows."""
import argparse
import csv
import json

import numpy as np
import torch


def read(path):
    labels, passes, rows = [], [], []
    with open(path, newline="") as f:
        r = csv.reader(f)
        next(r)
        for line in r:
            labels.append(line[0])
            passes.append(line[1])
            rows.append([float(v) for v in line[2:]])
    return labels, np.array(passes), torch.tensor(rows, dtype=torch.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--lambda", dest="lam", type=float, required=True)
    args = ap.parse_args()
    ltr, _, xtr = read(args.train)
    lte, pte, xte = read(args.test)
    classes = sorted(set(ltr))
    idx = {c: i for i, c in enumerate(classes)}
    ytr = torch.tensor([idx[c] for c in ltr])
    yte = torch.tensor([idx.get(c, -1) for c in lte])
    mu = xtr.mean(0)
    sd = xtr.std(0, unbiased=False)
    sd[~(sd > 1e-6)] = 1.0
    ztr = (xtr - mu) / sd
    counts = torch.bincount(ytr, minlength=len(classes)).double()
    w = (len(ytr) / (len(classes) * counts))[ytr]
    w = w / w.sum()
    W = torch.zeros(len(classes), xtr.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=2000, tolerance_grad=1e-10, tolerance_change=1e-14,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = ztr @ W.T + b
        loss = (w * torch.nn.functional.cross_entropy(logits, ytr, reduction="none")).sum()
        loss = loss + 0.5 * args.lam * ((W * W).sum() + (b * b).sum())
        loss.backward()
        return loss

    loss = opt.step(closure)
    with torch.no_grad():
        pred = (((xte - mu) / sd) @ W.T + b).argmax(1)
    out = {"lambda": args.lam, "loss": float(loss)}
    for p in sorted(set(pte)):
        m = torch.tensor(pte == p)
        out["accuracy_" + p] = float((pred[m] == yte[m]).double().mean())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
