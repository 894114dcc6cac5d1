"""Staged training of `adc-pcb` (issue 12): cfvit on DeepPCB inspection sites, grey, 7 classes,
good_label `none` (the nuisance exit).

  # stage 1: teacher, EfficientNet-Lite0 from its ImageNet weights (or --scratch), at the full resolution
  python3 tools/train/train_adc_pcb.py teacher --epochs 4 --out tools/train/runs/pcb/teacher
  # stage 2: the cfvit student distilled from it (soft labels + labels, both passes, coarse agrees with fine)
  python3 tools/train/train_adc_pcb.py student --epochs 12 --teacher tools/train/runs/pcb/teacher \
      --out tools/train/runs/pcb/student
  # any stage: --resume continues from <out>/state.pt (written atomically every --ckpt-min minutes and
  # at the end of every epoch); the run's randomness is a function of (seed, epoch) and the saved torch
  # RNG state, so a resumed run computes what the uninterrupted one would.

Split: data_deeppcb.split_by_pair (by board image, per board group): train ~70%, calib ~10% (router
calibration, never trained on), val ~20% (reported). Log <out>/train.log, report <out>/report.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_deeppcb as D  # noqa: E402
from common import cf_loss, evaluate, lr_at, metrics, param_groups, save_checkpoint, write_report  # noqa: E402
from effnet_lite0 import EfficientNetLite0  # noqa: E402
from model import CFViT, make_config  # noqa: E402
from train_awc_staged import Log, save_state  # noqa: E402

ARCH = {"name": "cfvit", "in_chans": 1, "img_full": 128, "img_coarse": 64, "patch": 16,
        "stem_channels": [16, 32], "dim": 128, "heads": 4, "depth": 6, "mlp_ratio": 4,
        "reuse_hidden": 128, "topk": 6, "rank_layers": 3, "ln_eps": 1e-6, "bn_eps": 1e-5}
INPUT = {"channels": 1, "max_value_u8": 255, "max_value_u16": 65535, "mean": 0.5, "std": 0.25}
LAB = {l: i for i, l in enumerate(D.LABELS)}
CACHE = "tools/train/runs/pcb/cache"


def norm(x01):
    return (x01 - INPUT["mean"]) / INPUT["std"]


def load_teacher(d):
    from safetensors.torch import load_file
    t = EfficientNetLite0(len(D.LABELS), in_chans=1)
    t.load_state_dict(load_file(os.path.join(d, "teacher.safetensors")))
    return t.eval().to(memory_format=torch.channels_last)


@torch.no_grad()
def teacher_probs(t, x01, bs=128):
    return torch.cat([F.softmax(t(x01[i:i + bs].float().contiguous(memory_format=torch.channels_last)), -1)
                      for i in range(0, len(x01), bs)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["teacher", "student"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=0.3, help="warm-up epochs")
    ap.add_argument("--scratch", action="store_true", help="teacher: no ImageNet weights")
    ap.add_argument("--teacher", default=None)
    ap.add_argument("--init", default=None, help="student: continue from a checkpoint dir (model.safetensors), "
                    "a new schedule (stem BN statistics kept frozen)")
    ap.add_argument("--ckpt-min", type=float, default=5.0)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    lr = args.lr if args.lr is not None else 1e-3
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "train.log"))
    state_path = os.path.join(args.out, "state.pt")
    Sf, Sc = ARCH["img_full"], ARCH["img_coarse"]

    tr, ca, va = D.split_by_pair(D.load_index())
    t0 = time.time()
    tr_f, tr_c = D.load_tensors(tr, Sf, Sc, os.path.join(CACHE, "train.pt"))
    va_f, va_c = D.load_tensors(va, Sf, Sc, os.path.join(CACHE, "val.pt"))
    tr_y = torch.tensor([LAB[r["label"]] for r in tr]); va_y = np.array([LAB[r["label"]] for r in va])
    log(f"{args.stage}: train {len(tr)} sites ({len(set(r['pair'] for r in tr))} boards), calib {len(ca)}, "
        f"val {len(va)} ({len(set(r['pair'] for r in va))} boards); loaded in {time.time()-t0:.0f}s; "
        f"threads {args.threads}")

    teacher = None
    torch.manual_seed(args.seed)  # model initialisation
    if args.stage == "teacher":
        model = EfficientNetLite0(len(D.LABELS), in_chans=1)
        if not args.scratch:
            model.load_pretrained()
        model = model.to(memory_format=torch.channels_last)
    else:
        teacher = load_teacher(args.teacher)
        model = CFViT(ARCH, num_classes=len(D.LABELS))
        if args.init:
            from safetensors.torch import load_file
            model.load_state_dict(load_file(os.path.join(args.init, "model.safetensors")), strict=False)
            model.bn_frozen = True
        else:
            idx = np.random.default_rng([args.seed, 999]).permutation(len(tr))[:256]
            model.calibrate_bn(norm(tr_c[idx].float()), norm(tr_f[idx].float()))
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=lr, betas=(0.9, 0.999))
    steps_per_epoch = (len(tr) + args.bs - 1) // args.bs
    total = steps_per_epoch * args.epochs
    ep0, i0, step, hist, spent = 0, 0, 0, [], 0.0
    if args.resume and os.path.exists(state_path):
        st = torch.load(state_path, weights_only=False)
        assert st["args"]["stage"] == args.stage, "state is of another stage"
        model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
        if st.get("bn_frozen") is not None:
            model.bn_frozen = st["bn_frozen"]
        ep0, i0, step, hist, spent = st["epoch"], st["batch"], st["step"], st["hist"], st["seconds"]
        torch.set_rng_state(st["torch_rng"])
        log(f"resumed at epoch {ep0}, batch {i0} (step {step}, {spent:.0f} s spent)")

    def save(ep, i):
        save_state(state_path, model=model.state_dict(), opt=opt.state_dict(), epoch=ep, batch=i, step=step,
                   hist=hist, seconds=spent, args=vars(args), torch_rng=torch.get_rng_state(),
                   bn_frozen=getattr(model, "bn_frozen", None))

    def val_eval():
        model.eval()
        if teacher is None:
            return {"teacher": teacher_probs(model, va_f).argmax(-1).numpy()}
        return evaluate(model, norm(va_f.float()), norm(va_c.float()), va_y)

    t_run, last_ckpt, steps_run = time.time(), time.time(), 0
    for ep in range(ep0, args.epochs):
        perm = torch.from_numpy(np.random.default_rng([args.seed, ep]).permutation(len(tr)))
        g = torch.Generator().manual_seed(args.seed * 100_003 + ep)
        model.train()
        tl, tn = 0.0, 0
        n_batches = steps_per_epoch
        for bi in range(0, n_batches):
            b = perm[bi * args.bs:(bi + 1) * args.bs]
            xf, xc = D.augment([tr_f[b], tr_c[b]], g)   # drawn for every batch, also skipped ones
            if ep == ep0 and bi < i0:
                continue
            t_b = time.time()
            for grp in opt.param_groups:
                grp["lr"] = lr_at(step, total, lr, int(steps_per_epoch * args.warmup))
            if teacher is None:
                loss = F.cross_entropy(model(xf.contiguous(memory_format=torch.channels_last)), tr_y[b],
                                       label_smoothing=0.05)
            else:
                soft = teacher_probs(teacher, xf)
                c, f = model(norm(xf), norm(xc))
                loss = cf_loss(c, f, tr_y[b], soft=soft, label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1; steps_run += 1
            spent += time.time() - t_b
            tl += loss.item() * len(b); tn += len(b)
            if (bi + 1) % 20 == 0:
                eta = (time.time() - t_run) / steps_run * (total - step)
                log(f"ep {ep+1}/{args.epochs} batch {bi+1}/{n_batches} loss {tl/max(tn,1):.4f} ETA {eta/60:.1f} min")
            if time.time() - last_ckpt > args.ckpt_min * 60:
                save(ep, bi + 1); last_ckpt = time.time()
        p = val_eval()
        acc = {k: float((v == va_y).mean()) for k, v in p.items()}
        hist.append({"epoch": ep + 1, **acc})
        log(f"ep {ep+1}/{args.epochs} done, loss {tl/max(tn,1):.4f} | val " + " ".join(f"{k} {v:.4f}" for k, v in acc.items()))
        save(ep + 1, 0); last_ckpt = time.time()

    report = {"stage": args.stage, "args": vars(args), "history": hist, "train_seconds": spent,
              "threads": args.threads, "split": {"train": len(tr), "calib": len(ca), "val": len(va)}}
    p = val_eval()
    for k, v in p.items():
        report[k] = metrics(va_y, v, D.LABELS, D.GOOD)
    if teacher is None:
        from safetensors.torch import save_file
        sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()
              if not k.endswith("num_batches_tracked")}
        save_file(sd, os.path.join(args.out, "teacher.safetensors"))
    else:
        report["coarse_fine_agreement"] = float((p["coarse"] == p["fine"]).mean())
        save_checkpoint(model, make_config("adc-pcb", ARCH, D.LABELS, D.GOOD, INPUT), args.out)
    write_report(report, args.out, list(p), log)
    log(f"done: {spent:.0f} s of training ({args.threads} thread(s))")


if __name__ == "__main__":
    main()
