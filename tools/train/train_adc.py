"""Train model B `adc-sem` (cfvit, synthetic SEM defect review images) in stages.

  crops     the teacher's first phase: its tokenizer and conv body learn on 64x64 crops at both
            scales (a crop holding the defect -> its class, a crop of a good image -> good), using
            the defect locations the generator recorded (sem_locs.py); crops are ~12x cheaper than
            images and every one carries signal, where an image's defect is a few of 50k pixels
  teacher   a convolutional teacher (conv_teacher.py: the student's stem and patch projection, then
            residual conv blocks at token resolution) on the labelled source set, at both resolutions
  student   the compact cfvit (doc table: dim 192, depth 8), its stem and patch projection copied
            from the teacher, distilled from the teacher's soft labels on labelled + unlabelled source
            images (unlabelled images get only the teacher's outputs)
  finetune  the student on the labelled "target" set (a shifted generator: a new tool), coarse pass
            trained to agree with the fine pass
  test      final report on the held-out test sets (85% good / 15% defect)

Datasets are pre-generated .npy (synth_sem.py; see tools/train/README.md). Each stage runs for
--steps optimizer steps, or for --minutes of wall time (the step count reached is recorded, so a
time-budgeted run can be replayed with --steps).
"""
from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_sem as G  # noqa: E402
from common import cf_loss, evaluate, metrics, param_groups, save_checkpoint  # noqa: E402
from conv_teacher import ConvTeacher, transfer_tokenizer  # noqa: E402
from model import CFViT, make_config  # noqa: E402

ARCH = {"name": "cfvit", "in_chans": 1, "img_full": 224, "img_coarse": 112, "patch": 16,
        "stem_channels": [24, 48], "dim": 192, "heads": 3, "depth": 8, "mlp_ratio": 4,
        "reuse_hidden": 192, "topk": 12, "rank_layers": 4, "ln_eps": 1e-6, "bn_eps": 1e-5}
TEACHER = {"width": 256, "blocks": 2}
INPUT = {"channels": 1, "max_value_u8": 255, "max_value_u16": 65535, "mean": 0.5, "std": 0.25}
TEACHER_CONFIG = {"model_name": "adc-sem-teacher", "arch": {"name": "conv_teacher", **ARCH, **TEACHER},
                  "labels": G.LABELS, "good_label": G.GOOD, "input": INPUT}


def load_set(data, name, limit=None):
    x = np.load(os.path.join(data, name + "_x.npy"), mmap_mode="r")
    y = np.load(os.path.join(data, name + "_y.npy"))
    if limit:
        x, y = x[:limit], y[:limit]
    return x, y


def to_inputs(x16: np.ndarray, rng=None, aug=False):
    """uint16 [B,224,224] -> (full [B,1,224,224], coarse [B,1,112,112]) as the doc's preprocessing.
    aug: random 90-degree rotation + flip per image, and half of the images read as 8-bit."""
    x = torch.from_numpy(np.ascontiguousarray(x16).astype(np.float32))
    B = x.shape[0]
    if aug:
        q8 = torch.from_numpy(rng.random(B) < 0.5)
        x = torch.where(q8[:, None, None], torch.round(x / 257.0) / 255.0, x / 65535.0)
        ks = rng.integers(0, 4, B); fl = rng.random(B) < 0.5
        x = torch.stack([torch.rot90(x[i], int(ks[i]), (0, 1)).flip(1) if fl[i] else
                         torch.rot90(x[i], int(ks[i]), (0, 1)) for i in range(B)])
    else:
        x = x / 65535.0
    x = x[:, None]
    full = x if x.shape[-1] == ARCH["img_full"] else F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False)
    coarse = F.interpolate(x, size=(112, 112), mode="bilinear", align_corners=False, antialias=False)
    m, s = np.float32(INPUT["mean"]), np.float32(INPUT["std"])
    return (full - m) / s, (coarse - m) / s


def eval_set(model, x16, y, bs=64, fine_all=True):
    preds = {"coarse": [], "fine": [], "fine_all": []}
    for i in range(0, len(y), bs):
        full, coarse = to_inputs(x16[i:i + bs])
        if isinstance(model, ConvTeacher):
            with torch.no_grad():
                c, f = model(full, coarse)
            p = {"coarse": c.argmax(-1).numpy(), "fine": f.argmax(-1).numpy(), "fine_all": np.full(len(f), -1)}
        else:
            p = evaluate(model, full, coarse, None, bs=bs, fine_all=fine_all)
        for k in preds:
            preds[k].append(p[k])
    preds = {k: np.concatenate(v) for k, v in preds.items()}
    rep = {k: metrics(y, v, G.LABELS, G.GOOD) for k, v in preds.items() if (v >= 0).all()}
    rep["coarse_fine_agreement"] = float((preds["coarse"] == preds["fine"]).mean())
    return rep, preds


def short(rep):
    return " ".join(f"{k} {rep[k]['accuracy']:.4f} (esc {rep[k]['escapes']}/{rep[k]['n_defect']} "
                    f"or {rep[k]['over_rejects']}/{rep[k]['n_good']})" for k in ("coarse", "fine", "fine_all") if k in rep)


def lr_frac(frac, warm=0.05):
    """linear warm-up over the first 5% of the budget, then cosine down to 2%."""
    if frac < warm:
        return (frac + 1e-3) / warm
    t = (frac - warm) / (1 - warm)
    return 0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(t, 1.0)))


def train(model, sets, args, rng, teacher=None, w_soft=1.0, lr=None, log=None):
    """sets: list of (x16, y) (y = -1: unlabelled). teacher: a model whose fine-pass probabilities on
    the same (augmented) batch are the soft labels (computed on the fly: only for what is seen)."""
    lr = lr or args.lr
    xs = [s[0] for s in sets]; ys = [torch.as_tensor(s[1]) for s in sets]
    idx = np.concatenate([np.stack([np.full(len(s[1]), k), np.arange(len(s[1]))], 1) for k, s in enumerate(sets)])
    model.train()
    cw = torch.tensor(args.class_weight) if args.class_weight else None
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=lr)
    t0 = time.time(); step = 0; pos = len(idx); perm = None; ema = None
    budget_s = args.minutes * 60 if args.steps is None else None
    while True:
        frac = step / args.steps if budget_s is None else (time.time() - t0) / budget_s
        if frac >= 1.0:
            break
        if pos + args.bs > len(idx):
            perm = rng.permutation(len(idx)); pos = 0
        b = idx[perm[pos:pos + args.bs]]; pos += args.bs
        x16 = np.stack([xs[k][i] for k, i in b])
        y = torch.stack([ys[k][i] for k, i in b])
        full, coarse = to_inputs(x16, rng, aug=True)
        for g in opt.param_groups:
            g["lr"] = lr * lr_frac(frac)
        c, f = model(full, coarse, K=args.k_train)
        sb = None
        if teacher is not None:
            sb = teacher.soft_target(full, coarse)
        loss = cf_loss(c, f, y, soft=sb, w_soft=w_soft, label_smoothing=0.05, class_weight=cw)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 20 == 0 and log:
            log(f"  step {step} frac {frac:.3f} loss {ema:.4f} {args.bs * step / (time.time() - t0):.1f} img/s")
    model.eval()
    return {"steps": step, "samples": step * args.bs, "seconds": time.time() - t0}


def train_crops(model, x16, y, loc, args, rng, log):
    """Crop phase: half the crops at full resolution (64x64 px), half at coarse scale (128x128 px
    averaged 2x2 = what the coarse pass sees); a defect crop puts the defect centre at least 12 px
    (full-res) inside the crop."""
    good = np.flatnonzero(y == 0); bad = np.flatnonzero((y != 0) & np.isfinite(loc[:, 0]))
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr)
    model.train(); t0 = time.time(); step = 0; ema = None
    m, s = np.float32(INPUT["mean"]), np.float32(INPUT["std"])

    def origin(centre, c, margin):
        """A crop origin keeping `centre` at least `margin` px inside a c-px crop of the image
        (clipping keeps the order: c >= 2 margin)."""
        lo, hi = (int(np.clip(v, 0, 224 - c)) for v in (centre - c + margin, centre - margin))
        return int(rng.integers(lo, hi + 1))

    while (time.time() - t0) / (args.minutes * 60) < 1.0:
        frac = (time.time() - t0) / (args.minutes * 60)
        crops, labels = [], []
        for j in range(args.bs):
            scale = 1 + int(rng.random() < 0.5)
            c = 64 * scale
            if rng.random() < 0.5:
                i = int(rng.choice(bad))
                oy, ox = (origin(centre, c, 12 * scale) for centre in loc[i])
            else:
                i = int(rng.choice(good)); oy, ox = rng.integers(0, 224 - c + 1, 2)
            t = torch.from_numpy(np.asarray(x16[i, oy:oy + c, ox:ox + c], np.float32))
            t = torch.round(t / 257.0) / 255.0 if rng.random() < 0.5 else t / 65535.0
            if scale == 2:
                t = F.avg_pool2d(t[None, None], 2)[0, 0]
            t = torch.rot90(t, int(rng.integers(0, 4)), (0, 1))
            crops.append(t.flip(1) if rng.random() < 0.5 else t); labels.append(int(y[i]))
        xb = (torch.stack(crops)[:, None] - m) / s
        for g in opt.param_groups:
            g["lr"] = args.lr * lr_frac(frac)
        loss = F.cross_entropy(model.logits(xb), torch.tensor(labels), label_smoothing=0.05)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 50 == 0:
            log(f"  crops step {step} frac {frac:.3f} loss {ema:.4f} {args.bs * step / (time.time() - t0):.0f} crops/s")
    model.eval()
    return {"steps": step, "samples": step * args.bs, "seconds": time.time() - t0}


def student_from_teacher(teacher: ConvTeacher, x16) -> CFViT:
    """A fresh student with the teacher's tokenizer; its stem BN statistics are then set on the
    student's own inputs (coarse images and fine regions) and frozen."""
    s = CFViT(ARCH, num_classes=len(G.LABELS))
    transfer_tokenizer(teacher, s)
    full, coarse = to_inputs(x16)
    s.calibrate_bn(coarse, full)
    return s


def load_teacher(d):
    m = ConvTeacher(ARCH, len(G.LABELS), **TEACHER)
    m.load_state_dict(load_file(os.path.join(d, "model.safetensors")), strict=False)
    m.eval()
    return m


def load_model(d, arch):
    m = CFViT(arch, num_classes=len(G.LABELS))
    m.load_state_dict(load_file(os.path.join(d, "model.safetensors")), strict=False)
    m.bn_frozen = True
    m.eval()
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["crops", "teacher", "student", "finetune", "test", "eval"])
    ap.add_argument("--name", default="teacher", help="eval: which stage checkpoint (crops|teacher|student|finetune)")
    ap.add_argument("--data", default="tools/train/runs/sem")
    ap.add_argument("--runs", default="tools/train/runs/adc")
    ap.add_argument("--out", default="models/adc-sem", help="final model dir (finetune/test)")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="1 is fastest on a busy 2-core machine")
    ap.add_argument("--val", type=int, default=250, help="validation images per domain per stage")
    ap.add_argument("--init", default=None, help="finetune: start from this checkpoint dir instead of "
                    "<runs>/student (e.g. models/adc-sem, to continue training)")
    ap.add_argument("--k-train", type=int, default=None,
                    help="regions the fine pass refines during training (default: the model's topk). "
                    "Larger early on: while the CLS-attention ranking is still untrained, a small K "
                    "rarely picks the defect's region and the fine pass gets no signal from it")
    ap.add_argument("--w-soft", type=float, default=1.0, help="student: weight of the teacher soft-label loss")
    ap.add_argument("--class-weight", default=None,
                    help="comma list, one weight per label in head order (good, particle, bridge, open, scratch, "
                    "residue, missing_contact) for the labelled cross-entropy of teacher/student/finetune")
    ap.add_argument("--test-n", type=int, default=500, help="source-domain test images (test stage)")
    ap.add_argument("--test-tgt-n", type=int, default=None, help="target-domain test images (default: all)")
    args = ap.parse_args()
    if args.class_weight is not None:
        w = [float(v) for v in args.class_weight.split(",")]
        if len(w) != len(G.LABELS) or min(w) <= 0:
            ap.error(f"--class-weight needs {len(G.LABELS)} positive values")
        args.class_weight = w
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.runs, exist_ok=True)
    logf = open(os.path.join(args.runs, f"{args.stage}.log"), "a")

    def log(msg):
        print(msg, flush=True); logf.write(msg + "\n"); logf.flush()

    def stage_eval(model, name):
        rep = {}
        for dom, setname in (("target_val", "tgt_val"), ("source_val", "test_src")):
            if not os.path.exists(os.path.join(args.data, setname + "_y.npy")):
                log(f"[{name}] {setname} not generated yet: run `train_adc.py eval --name {name}` later")
                continue
            x, y = load_set(args.data, setname, args.val)
            rep[dom], _ = eval_set(model, x, y, fine_all=False)  # stage checks: coarse + routed fine
            log(f"[{name}] {dom}: {short(rep[dom])}")
        return rep

    t0 = time.time()
    cfg = make_config("adc-sem", ARCH, G.LABELS, G.GOOD, INPUT)
    if args.stage == "crops":
        x, y = load_set(args.data, "src_train")
        loc = np.load(os.path.join(args.data, "src_train_loc.npy"))
        m = ConvTeacher(ARCH, len(G.LABELS), **TEACHER)
        info = train_crops(m, x, y, loc, args, rng, log)
        log(f"crops trained: {info}")
        rep = {"train": info, "eval": stage_eval(m, "crops"), "args": vars(args)}
        save_checkpoint(m, TEACHER_CONFIG, os.path.join(args.runs, "crops"))
    elif args.stage == "teacher":
        x, y = load_set(args.data, "src_train")
        crops = os.path.join(args.runs, "crops")
        m = load_teacher(crops) if os.path.exists(crops) else ConvTeacher(ARCH, len(G.LABELS), **TEACHER)
        log(f"teacher starts from {crops if os.path.exists(crops) else 'scratch (no crops stage run)'}")
        info = train(m, [(x, y)], args, rng, log=log)
        log(f"teacher trained: {info}")
        rep = {"train": info, "eval": stage_eval(m, "teacher"), "args": vars(args)}
        save_checkpoint(m, TEACHER_CONFIG, os.path.join(args.runs, "teacher"))
    elif args.stage == "student":
        teacher = load_teacher(os.path.join(args.runs, "teacher"))
        xl, yl = load_set(args.data, "src_train")
        xu, yu = load_set(args.data, "src_unlab")
        m = student_from_teacher(teacher, xl[:128])
        info = train(m, [(xl, yl), (xu, np.full(len(yu), -1))], args, rng, teacher=teacher,
                     w_soft=args.w_soft, log=log)
        log(f"student trained: {info}")
        rep = {"train": info, "eval": stage_eval(m, "student"), "args": vars(args)}
        save_checkpoint(m, cfg, os.path.join(args.runs, "student"))
    elif args.stage == "finetune":
        m = load_model(args.init or os.path.join(args.runs, "student"), ARCH)
        x, y = load_set(args.data, "tgt_train")
        info = train(m, [(x, y)], args, rng, log=log)
        log(f"finetune trained: {info}")
        rep = {"train": info, "eval": stage_eval(m, "finetune"), "args": vars(args)}
        save_checkpoint(m, cfg, os.path.join(args.runs, "finetune"))
        save_checkpoint(m, cfg, args.out)
    elif args.stage == "eval":
        d = os.path.join(args.runs, args.name)
        m = load_teacher(d) if args.name in ("crops", "teacher") else load_model(d, ARCH)
        rep = {"eval": stage_eval(m, args.name)}
        args.stage = f"eval_{args.name}"
    else:  # test
        m = load_model(args.out, ARCH)
        rep = {}
        for dom, setname in (("test_target", "test_tgt"), ("test_source", "test_src")):
            x, y = load_set(args.data, setname, args.test_n if dom == "test_source" else args.test_tgt_n)
            rep[dom], preds = eval_set(m, x, y)
            log(f"[test] {dom} n={len(y)}: {short(rep[dom])}")
            for k in ("coarse", "fine", "fine_all"):
                r = rep[dom][k]
                log(f"   {k}: recall " + " ".join(f"{c}={v:.3f}" if v is not None else f"{c}=-" for c, v in r["recall"].items()))
    rep["seconds"] = time.time() - t0
    with open(os.path.join(args.runs, f"{args.stage}_report.json"), "w") as f:
        json.dump(rep, f, indent=1)
    log(f"{args.stage} done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
