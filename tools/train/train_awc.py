"""Train model A `awc-wm811k` (cfvit on WM-811K wafer maps), coarse + fine jointly.

  python3 tools/train/train_awc.py --out models/awc-wm811k --epochs 50 --synth 800

Split: lot-wise 80/20 (data_wm811k.split_by_lot, seed 0). Final-epoch weights are saved (the
validation split is reported, not used to pick a checkpoint).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_wm811k as W  # noqa: E402
from common import cf_loss, evaluate, lr_at, metrics, param_groups, save_checkpoint  # noqa: E402
from model import CFViT, make_config  # noqa: E402

ARCH = {"name": "cfvit", "in_chans": 1, "img_full": 64, "img_coarse": 32, "patch": 8,
        "stem_channels": [16, 32], "dim": 128, "heads": 4, "depth": 6, "mlp_ratio": 4,
        "reuse_hidden": 128, "topk": 4, "rank_layers": 3, "ln_eps": 1e-6, "bn_eps": 1e-5}
INPUT = {"channels": 1, "max_value_u8": 2, "max_value_u16": 2, "mean": 0.5, "std": 0.5}


def prep_batch(maps, S):
    """Batch preprocessing (doc: v/max, bilinear half-pixel, normalise); maps of mixed sizes."""
    out = torch.empty(len(maps), 1, S, S)
    for i, m in enumerate(maps):
        x = torch.from_numpy(m.astype(np.float32))[None, None] / np.float32(INPUT["max_value_u8"])
        out[i] = F.interpolate(x, size=(S, S), mode="bilinear", align_corners=False, antialias=False)[0]
    return (out - np.float32(INPUT["mean"])) / np.float32(INPUT["std"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tools/train/runs/awc")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--synth", type=int, default=0, help="synthetic maps per epoch (fresh each epoch)")
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--init", default=None, help="continue from a checkpoint dir (model.safetensors)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up epochs")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()

    rows = W.load_index()
    tr, va = W.split_by_lot(rows, 0.2, seed=0)
    lab = {l: i for i, l in enumerate(W.LABELS)}
    tr_maps = [W.load_map(r) for r in tr]; tr_y = np.array([lab[r["label"]] for r in tr])
    va_maps = [W.load_map(r) for r in va]; va_y = np.array([lab[r["label"]] for r in va])
    va_full, va_coarse = prep_batch(va_maps, 64), prep_batch(va_maps, 32)
    print(f"train {len(tr)} maps, val {len(va)} maps ({len(set(r['lot'] for r in va))} lots)", flush=True)

    model = CFViT(ARCH, num_classes=len(W.LABELS))
    if args.init:
        from safetensors.torch import load_file
        model.load_state_dict(load_file(os.path.join(args.init, "model.safetensors")), strict=False)
        model.bn_frozen = True
    else:
        idx = rng.permutation(len(tr_maps))[:256]
        model.calibrate_bn(prep_batch([tr_maps[i] for i in idx], 32), prep_batch([tr_maps[i] for i in idx], 64))
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr, betas=(0.9, 0.999))
    n_per_epoch = len(tr_maps) + args.synth
    steps_per_epoch = (n_per_epoch + args.bs - 1) // args.bs
    total = steps_per_epoch * args.epochs
    step = 0
    hist = []
    for ep in range(args.epochs):
        model.train()
        maps = [W.augment(m, rng, args.noise) for m in tr_maps]
        ys = list(tr_y)
        if args.synth:
            sm, sy = W.synth_set(args.synth, seed=10_000 + args.seed * 1000 + ep)
            maps += [W.augment(m, rng, 0.0) for m in sm]
            ys += list(sy)
        ys = torch.tensor(ys)
        perm = rng.permutation(len(maps))
        full_all, coarse_all = prep_batch(maps, 64), prep_batch(maps, 32)
        tl, tn = 0.0, 0
        for i in range(0, len(perm), args.bs):
            b = torch.from_numpy(perm[i:i + args.bs])
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, args.lr, steps_per_epoch * args.warmup)
            c, f = model(full_all[b], coarse_all[b])
            loss = cf_loss(c, f, ys[b], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            tl += loss.item() * len(b); tn += len(b)
        msg = f"ep {ep+1}/{args.epochs} loss {tl/tn:.4f} t {time.time()-t0:.0f}s"
        if (ep + 1) % 5 == 0 or ep + 1 == args.epochs:
            p = evaluate(model, va_full, va_coarse, va_y)
            accs = {k: float((v == va_y).mean()) for k, v in p.items()}
            hist.append({"epoch": ep + 1, **accs})
            msg += f" | val coarse {accs['coarse']:.4f} fine {accs['fine']:.4f} fine_all {accs['fine_all']:.4f}"
        print(msg, flush=True)

    p = evaluate(model, va_full, va_coarse, va_y)
    report = {k: metrics(va_y, v, W.LABELS, W.GOOD) for k, v in p.items()}
    report["coarse_fine_agreement"] = float((p["coarse"] == p["fine"]).mean())
    report["history"] = hist
    report["args"] = vars(args)
    report["train_seconds"] = time.time() - t0
    report["split"] = {"train_maps": len(tr), "val_maps": len(va), "val_lots": sorted(set(r["lot"] for r in va))}
    cfg = make_config("awc-wm811k", ARCH, W.LABELS, W.GOOD, INPUT)
    save_checkpoint(model, cfg, args.out)
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    for k in ("coarse", "fine", "fine_all"):
        r = report[k]
        print(f"{k}: acc {r['accuracy']:.4f} escapes {r['escapes']}/{r['n_defect']} over-rejects "
              f"{r['over_rejects']}/{r['n_good']} recall " +
              " ".join(f"{c}={v:.2f}" for c, v in r["recall"].items()), flush=True)
    print(f"done in {time.time()-t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
