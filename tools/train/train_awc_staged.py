"""Staged training of `awc-wm811k` (issue 11): a CNN teacher learns first, the cfvit student is distilled
from it (soft labels on labelled + unlabelled + synthetic maps, both passes trained, the coarse pass to
agree with the fine one), the student ships.

  # stage 1: teacher (full-resolution maps, labelled train lots only)
  python3 tools/train/train_awc_staged.py teacher --img 96 --epochs 40 --out tools/train/runs/awc2/teacher96
  # stage 2: student distilled from the teacher
  python3 tools/train/train_awc_staged.py student --img 96 --patch 8 --topk 8 --epochs 60 \
      --teacher tools/train/runs/awc2/teacher96 --out tools/train/runs/awc2/student96
  # any stage: --resume continues from <out>/state.pt (same result as an uninterrupted run)

Split (split3, by lot, never by map): validation ~20% of the maps (reported), calibration ~10% (held back
for router.json, never trained on), training the rest. Every epoch draws its randomness from
(seed, epoch) alone, and the state (weights, optimiser, step, history) is written atomically after every
epoch (an epoch takes well under 10 minutes), so --resume replays an interrupted run exactly.
Log: <out>/train.log (appended), report: <out>/report.json.
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
from common import cf_loss, evaluate, lr_at, metrics, param_groups, save_checkpoint, write_report  # noqa: E402
from model import CFViT, make_config  # noqa: E402
from train_awc import INPUT, prep_batch  # noqa: E402  (the engine's preprocessing of a batch of maps)
from wafer_teacher import WaferCNN  # noqa: E402

LAB = {l: i for i, l in enumerate(W.LABELS)}


def student_arch(img: int, patch: int, topk: int, dim: int, depth: int) -> dict:
    return {"name": "cfvit", "in_chans": 1, "img_full": img, "img_coarse": img // 2, "patch": patch,
            "stem_channels": [16, 32], "dim": dim, "heads": 4, "depth": depth, "mlp_ratio": 4,
            "reuse_hidden": dim, "topk": topk, "rank_layers": 3, "ln_eps": 1e-6, "bn_eps": 1e-5}


def split3(rows):
    """(train, calib, val) rows, lot-wise: val ~20% of the maps, calib ~10%, stratified by lot label."""
    rest, val = W.split_by_lot(rows, 0.2, seed=0)
    train, calib = W.split_by_lot(rest, 0.125, seed=1)
    return train, calib, val


def load_unlabelled():
    import csv
    with open(os.path.join(W.DATA_DIR, "unlabelled.csv")) as f:
        return [np.load(os.path.join(W.DATA_DIR, r["path"])) for r in csv.DictReader(f)]


class Log:
    def __init__(self, path):
        self.f = open(path, "a")

    def __call__(self, msg):
        line = time.strftime("%H:%M:%S ") + msg
        print(line, flush=True)
        self.f.write(line + "\n"); self.f.flush()


def save_state(path, **state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_teacher(d):
    from safetensors.torch import load_file
    with open(os.path.join(d, "teacher.json")) as f:
        meta = json.load(f)
    t = WaferCNN(len(W.LABELS), widths=tuple(meta["widths"]))
    t.load_state_dict(load_file(os.path.join(d, "teacher.safetensors")))
    t.eval()
    return t, meta


@torch.no_grad()
def predict_teacher(t, x, bs=256):
    return torch.cat([F.softmax(t(x[i:i + bs]), -1) for i in range(0, len(x), bs)])


def ensemble_probs(teachers, maps, full, S):
    """Mean of the teachers' probabilities, each on the maps at its own training resolution."""
    ps = [predict_teacher(t, full if meta["img"] == S else prep_batch(maps, meta["img"])) for t, meta in teachers]
    return sum(ps) / len(ps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["teacher", "student"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--img", type=int, default=96, help="full resolution (coarse = img/2)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--synth", type=int, default=400, help="synthetic maps per epoch (fresh each epoch)")
    ap.add_argument("--unlabelled", type=int, default=1, help="student: use the unlabelled maps (soft labels)")
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--warmup", type=int, default=2, help="warm-up epochs")
    ap.add_argument("--widths", default="32,64,128,192", help="teacher widths")
    ap.add_argument("--teacher", default=None, help="student: teacher run dir(s), comma-separated (ensemble: mean probabilities)")
    ap.add_argument("--patch", type=int, default=8)
    ap.add_argument("--topk", type=int, default=8)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--init", default=None, help="student: start from a checkpoint dir (model.safetensors)")
    ap.add_argument("--skip", default=None, metavar="KC,S,KF",
                    help="student: token skipping (docs/model-family.md): keep_coarse,skip_layer,keep_fine; "
                         "an empty field leaves that key out (e.g. ',,14' for keep_fine alone)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--stop-after", type=int, default=0, help="stop after N epochs of this invocation "
                    "(state saved; a later --resume continues): simulates an interruption")
    args = ap.parse_args()
    lr = args.lr if args.lr is not None else (2e-3 if args.stage == "teacher" else 1e-3)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "train.log"))
    state_path = os.path.join(args.out, "state.pt")
    S, Sc = args.img, args.img // 2

    rows = W.load_index()
    tr, ca, va = split3(rows)
    tr_maps = [W.load_map(r) for r in tr]; tr_y = np.array([LAB[r["label"]] for r in tr])
    va_maps = [W.load_map(r) for r in va]; va_y = np.array([LAB[r["label"]] for r in va])
    un_maps = load_unlabelled() if (args.stage == "student" and args.unlabelled) else []
    va_full, va_coarse = prep_batch(va_maps, S), prep_batch(va_maps, Sc)
    log(f"{args.stage}: train {len(tr)} maps ({len(set(r['lot'] for r in tr))} lots), calib {len(ca)} "
        f"({len(set(r['lot'] for r in ca))} lots), val {len(va)} ({len(set(r['lot'] for r in va))} lots), "
        f"unlabelled {len(un_maps)}, synth {args.synth}/epoch, img {S}/{Sc}, threads {args.threads}")

    teacher = None
    torch.manual_seed(args.seed)  # model initialisation
    if args.stage == "teacher":
        widths = tuple(int(w) for w in args.widths.split(","))
        model = WaferCNN(len(W.LABELS), widths=widths)
        groups = param_groups(model, args.wd)
    else:
        assert args.teacher, "student needs --teacher"
        teacher = [load_teacher(d) for d in args.teacher.split(",")]
        tp = ensemble_probs(teacher, va_maps, va_full, S).argmax(-1).numpy()
        tm = metrics(va_y, tp, W.LABELS, W.GOOD)
        log(f"teacher ensemble ({args.teacher}) on val: acc {tm['accuracy']:.4f} escapes {tm['escapes']}/"
            f"{tm['n_defect']} over-rejects {tm['over_rejects']}/{tm['n_good']}")
        arch = student_arch(S, args.patch, args.topk, args.dim, args.depth)
        if args.skip:
            kc, sl, kf = (args.skip.split(",") + ["", "", ""])[:3]
            arch.update({k: int(v) for k, v in (("keep_coarse", kc), ("skip_layer", sl), ("keep_fine", kf)) if v})
        model = CFViT(arch, num_classes=len(W.LABELS))
        if args.init:
            from safetensors.torch import load_file
            model.load_state_dict(load_file(os.path.join(args.init, "model.safetensors")), strict=False)
            model.bn_frozen = True
        else:
            rng0 = np.random.default_rng([args.seed, 999])
            idx = rng0.permutation(len(tr_maps))[:256]
            model.calibrate_bn(prep_batch([tr_maps[i] for i in idx], Sc), prep_batch([tr_maps[i] for i in idx], S))
        groups = param_groups(model, args.wd)
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999))
    n_per_epoch = len(tr_maps) + args.synth + len(un_maps)
    steps_per_epoch = (n_per_epoch + args.bs - 1) // args.bs
    total = steps_per_epoch * args.epochs
    start_ep, step, hist, spent = 0, 0, [], 0.0
    if args.resume and os.path.exists(state_path):
        st = torch.load(state_path, weights_only=False)
        assert st["args"]["stage"] == args.stage and st["args"]["img"] == S, "state is of another run"
        model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
        if "bn_frozen" in st:
            model.bn_frozen = st["bn_frozen"]
        start_ep, step, hist, spent = st["epoch"], st["step"], st["hist"], st["seconds"]
        log(f"resumed at epoch {start_ep}/{args.epochs} (step {step}, {spent:.0f} s spent)")

    t_run = time.time()
    for ep in range(start_ep, args.epochs):
        t_ep = time.time()
        rng = np.random.default_rng([args.seed, ep])
        torch.manual_seed(args.seed * 100_003 + ep)
        model.train()
        maps = [W.augment(m, rng, args.noise) for m in tr_maps]
        ys = list(tr_y)
        if args.synth:
            sm, sy = W.synth_set(args.synth, seed=10_000 + args.seed * 1000 + ep)
            maps += [W.augment(m, rng, 0.0) for m in sm]
            ys += list(sy)
        maps += [W.augment(m, rng, args.noise) for m in un_maps]
        ys += [-1] * len(un_maps)
        ys = torch.tensor(ys)
        perm = rng.permutation(len(maps))
        full_all = prep_batch(maps, S)
        coarse_all = prep_batch(maps, Sc) if teacher is not None else None
        soft_all = ensemble_probs(teacher, maps, full_all, S) if teacher is not None else None
        tl, tn = 0.0, 0
        for i in range(0, len(perm), args.bs):
            b = torch.from_numpy(perm[i:i + args.bs])
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, lr, steps_per_epoch * args.warmup)
            if teacher is None:
                yb = ys[b]
                loss = F.cross_entropy(model(full_all[b]), yb, label_smoothing=0.05)
            else:
                c, f = model(full_all[b], coarse_all[b])
                loss = cf_loss(c, f, ys[b], soft=soft_all[b], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            tl += loss.item() * len(b); tn += len(b)
        spent += time.time() - t_ep
        msg = f"ep {ep+1}/{args.epochs} loss {tl/tn:.4f} {time.time()-t_ep:.0f}s/ep"
        if (ep + 1) % 5 == 0 or ep + 1 == args.epochs:
            if teacher is None:
                model.eval()
                acc = {"teacher": float((predict_teacher(model, va_full).argmax(-1).numpy() == va_y).mean())}
            else:
                p = evaluate(model, va_full, va_coarse, va_y)
                acc = {k: float((v == va_y).mean()) for k, v in p.items()}
            hist.append({"epoch": ep + 1, **acc})
            msg += " | val " + " ".join(f"{k} {v:.4f}" for k, v in acc.items())
        done = ep + 1 - start_ep
        eta = (time.time() - t_run) / done * (args.epochs - ep - 1)
        log(msg + f" | ETA {eta/60:.1f} min")
        save_state(state_path, model=model.state_dict(), opt=opt.state_dict(), epoch=ep + 1, step=step,
                   hist=hist, seconds=spent, args=vars(args), bn_frozen=getattr(model, "bn_frozen", None))
        if args.stop_after and done >= args.stop_after and ep + 1 < args.epochs:
            log(f"stopping after {done} epoch(s) (--stop-after); continue with --resume")
            return

    report = {"stage": args.stage, "args": vars(args), "history": hist, "train_seconds": spent,
              **({"teacher_ensemble": tm} if teacher is not None else {}),
              "threads": args.threads,
              "split": {"train_maps": len(tr), "calib_maps": len(ca), "val_maps": len(va),
                        "val_lots": len(set(r["lot"] for r in va))}}
    model.eval()
    if teacher is None:
        pred = predict_teacher(model, va_full).argmax(-1).numpy()
        report["teacher"] = metrics(va_y, pred, W.LABELS, W.GOOD)
        from safetensors.torch import save_file
        save_file({k: v.detach().float().contiguous() for k, v in model.state_dict().items()
                   if not k.endswith("num_batches_tracked")}, os.path.join(args.out, "teacher.safetensors"))
        with open(os.path.join(args.out, "teacher.json"), "w") as f:
            json.dump({"img": S, "widths": list(model_widths(model))}, f)
        keys = ["teacher"]
    else:
        p = evaluate(model, va_full, va_coarse, va_y)
        for k, v in p.items():
            report[k] = metrics(va_y, v, W.LABELS, W.GOOD)
        report["coarse_fine_agreement"] = float((p["coarse"] == p["fine"]).mean())
        save_checkpoint(model, make_config("awc-wm811k", model.cfg, W.LABELS, W.GOOD, INPUT), args.out)
        keys = ["coarse", "fine", "fine_all"]
    write_report(report, args.out, keys, log)
    log(f"done: {spent:.0f} s of training ({args.threads} thread(s))")


def model_widths(m: WaferCNN):
    return [l[0].out_channels for l in m.body if isinstance(l, torch.nn.Sequential)]


if __name__ == "__main__":
    main()
