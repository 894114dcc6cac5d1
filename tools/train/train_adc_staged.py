"""Staged training of the real defect-review models (issue 12):
- `--dataset pcb` (default): `adc-pcb`, cfvit on DeepPCB inspection sites, grey, 7 classes, good_label
  `none` (the nuisance exit); split data_deeppcb.split_by_pair (by board image, per board group).
- `--dataset optical`: `adc-optical`, cfvit on the optical die-defect review images, 3 channels, 7 classes,
  no good class; split data_optical.split (by defect_id, per class).

  # stage 1: teacher, EfficientNet-Lite0 from its ImageNet weights (or --scratch), at the full resolution
  python3 tools/train/train_adc_staged.py teacher --epochs 4 --out tools/train/runs/pcb/teacher
  # stage 2: the cfvit student distilled from it (soft labels + labels, both passes, coarse agrees with fine)
  python3 tools/train/train_adc_staged.py student --epochs 12 --teacher tools/train/runs/pcb/teacher \
      --out tools/train/runs/pcb/student
  # any stage: --resume continues from <out>/state.pt (written atomically every --ckpt-min minutes and
  # at the end of every epoch); the run's randomness is a function of (seed, epoch) and the saved torch
  # RNG state, so a resumed run computes what the uninterrupted one would.

Split: train ~70%, calib ~10% (router calibration, never trained on), val ~20% (reported). Log <out>/train.log, report <out>/report.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_deeppcb  # noqa: E402
import data_optical  # noqa: E402
from common import cf_loss, evaluate, lr_at, metrics, param_groups, save_checkpoint, write_report  # noqa: E402
from effnet_lite0 import EfficientNetLite0  # noqa: E402
from model import SKIP_KEYS, CFViT, make_config  # noqa: E402
from train_awc_staged import Log, save_state  # noqa: E402

DATASETS = {
    "pcb": {
        "model_name": "adc-pcb", "data": data_deeppcb, "split": data_deeppcb.split_by_pair, "group": "pair",
        "cache": "tools/train/runs/pcb/cache",
        "arch": {"name": "cfvit", "in_chans": 1, "img_full": 128, "img_coarse": 64, "patch": 16,
                 "stem_channels": [16, 32], "dim": 128, "heads": 4, "depth": 6, "mlp_ratio": 4,
                 "reuse_hidden": 128, "topk": 6, "rank_layers": 3, "ln_eps": 1e-6, "bn_eps": 1e-5},
        "input": {"channels": 1, "max_value_u8": 255, "max_value_u16": 65535, "mean": 0.5, "std": 0.25}},
    "optical": {
        "model_name": "adc-optical", "data": data_optical, "split": data_optical.split, "group": "defect_id",
        "cache": "tools/train/runs/optical/cache",
        "arch": {"name": "cfvit", "in_chans": 3, "img_full": 224, "img_coarse": 112, "patch": 16,
                 "stem_channels": [24, 48], "dim": 192, "heads": 3, "depth": 8, "mlp_ratio": 4,
                 "reuse_hidden": 192, "topk": 12, "rank_layers": 4, "ln_eps": 1e-6, "bn_eps": 1e-5},
        "input": {"channels": 3, "max_value_u8": 255, "max_value_u16": 65535, "mean": 0.5, "std": 0.25}},
}
DS = DATASETS["pcb"]


def norm(x01):
    return (x01 - DS["input"]["mean"]) / DS["input"]["std"]


def load_teacher(d):
    from safetensors.torch import load_file
    t = EfficientNetLite0(len(DS["data"].LABELS), in_chans=DS["arch"]["in_chans"])
    t.load_state_dict(load_file(os.path.join(d, "teacher.safetensors")))
    return t.eval().to(memory_format=torch.channels_last)


@torch.no_grad()
def teacher_probs(t, x01, bs=128):
    return torch.cat([F.softmax(t(x01[i:i + bs].float().contiguous(memory_format=torch.channels_last)), -1)
                      for i in range(0, len(x01), bs)])


@torch.no_grad()
def teacher_probs_maps(t, x01):
    """(probabilities, stride-16 map, stride-32 map) of one batch; maps normalised per cell over channels."""
    logits, f16, f32 = t(x01.float().contiguous(memory_format=torch.channels_last), features=True)
    cell_norm = lambda f: F.layer_norm(f.permute(0, 2, 3, 1).float(), (f.shape[1],))  # [B, H, W, C]
    return F.softmax(logits, -1), cell_norm(f16), cell_norm(f32)


class FeatureHeads(nn.Module):
    """Training-only projections of the student's tokens onto the teacher's feature maps (feature
    distillation); never exported."""

    def __init__(self, dim, c16, c32):
        super().__init__()
        self.to16 = nn.Linear(dim, c16)
        self.to32 = nn.Linear(dim, c32)

    def loss(self, model, tok, m16, m32):
        """tok: forward(tokens=True)'s dict; m16 [B, 2Wc, 2Wc, c16], m32 [B, Wc, Wc, c32] normalised."""
        B, Wc, K = m32.shape[0], model.Wc, tok["sel"].shape[1]
        assert m32.shape[1] == Wc and m16.shape[1] == 2 * Wc, "teacher maps must align with the patch grids"
        t32 = m32.reshape(B, Wc * Wc, -1)
        bidx = torch.arange(B)[:, None]
        loss = F.mse_loss(self.to32(model.norm(tok["z"])), t32)
        sel, keep = tok["sel"], tok["keep"]
        cy, cx = sel // Wc, sel % Wc
        ab = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
        fy, fx = 2 * cy[:, :, None] + ab[:, 0], 2 * cx[:, :, None] + ab[:, 1]      # [B, K, 4]
        t16 = m16[bidx[:, :, None], fy, fx].reshape(B, 4 * K, -1)
        fine = model.norm(tok["fine"])
        loss = loss + F.mse_loss(self.to16(fine[:, :4 * K]), t16)
        if keep.shape[1] > 0:
            loss = loss + F.mse_loss(self.to32(fine[:, 4 * K:4 * K + keep.shape[1]]), t32[bidx, keep])
        return loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["teacher", "student"])
    ap.add_argument("--dataset", choices=sorted(DATASETS), default="pcb")
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
    ap.add_argument("--mix-frac", type=float, default=0.0,
                    help="student: share of each batch replaced by mixup pairs (lambda ~ U(0,1)) that learn "
                    "from the teacher's soft labels only (function matching)")
    ap.add_argument("--extra", type=int, default=0,
                    help="pcb: add N fresh cuts of every training board image (data_deeppcb.extra_windows)")
    ap.add_argument("--ckpt-min", type=float, default=5.0)
    ap.add_argument("--label-only", action="store_true",
                    help="student: fine-tune on the labels alone (CE on both passes + coarse-agrees-with-fine KL; "
                         "no teacher, no mixup): the issue's last stage, after distillation")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="student: also keep an exponential moving average of the weights with this decay per step "
                         "(e.g. 0.998); validated, reported and saved instead of the raw weights")
    ap.add_argument("--label-smoothing", type=float, default=0.05,
                    help="label smoothing of the cross-entropy terms (0: targets one-hot, so a confident "
                         "site can reach P near 1, which an escape-safe router's high P(good) threshold needs)")
    ap.add_argument("--arch", action="append", default=[], metavar="KEY=VALUE",
                    help="student: change one architecture key of the dataset's cfvit (e.g. dim=192, "
                         "stem_channels=24,48, or the token-skipping keys keep_coarse / skip_layer / keep_fine); repeatable; a resumed run must be given the same changes")
    ap.add_argument("--feat-kd", type=float, default=0.0, metavar="W",
                    help="student: feature distillation weight. Besides the teacher's probabilities the student "
                         "learns the teacher's feature maps (FitNets-style, through linear projections used "
                         "only in training): its coarse patch tokens and the fine pass's carried tokens the "
                         "stride-32 map (one cell per coarse patch), its fine tokens the stride-16 map (one "
                         "cell per fine patch); targets normalised per cell over channels, mean squared error")
    ap.add_argument("--bf16", action="store_true",
                    help="run each training step's forward passes (student and teacher) under bfloat16 autocast "
                         "(weights, optimiser and losses stay f32; validation and the saved model are f32). "
                         "For CPUs with avx512_bf16 (Zen 4: 1.6x faster steps); elsewhere slower. A resumed "
                         "run should keep the setting")
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    global DS
    DS = dict(DATASETS[args.dataset])
    if args.arch:
        assert args.stage == "student", "--arch changes the cfvit student"
        arch = dict(DS["arch"])
        for kv in args.arch:
            k, _, v = kv.partition("=")
            if k in SKIP_KEYS:  # token skipping (docs/model-family.md "Token skipping")
                arch[k] = int(v)
                continue
            assert k in arch and k not in ("name", "in_chans", "img_full", "img_coarse"), f"--arch: cannot set {k!r}"
            arch[k] = [int(x) for x in v.split(",")] if isinstance(arch[k], list) else type(arch[k])(v)
        DS["arch"] = arch
    D, ARCH, INPUT, CACHE = DS["data"], DS["arch"], DS["input"], DS["cache"]
    LAB = {l: i for i, l in enumerate(D.LABELS)}
    lr = args.lr if args.lr is not None else 1e-3
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "train.log"))
    state_path = os.path.join(args.out, "state.pt")
    Sf, Sc = ARCH["img_full"], ARCH["img_coarse"]

    tr, ca, va = DS["split"](D.load_index())
    t0 = time.time()
    tr_f, tr_c = D.load_tensors(tr, Sf, Sc, os.path.join(CACHE, "train.pt"))
    va_f, va_c = D.load_tensors(va, Sf, Sc, os.path.join(CACHE, "val.pt"))
    tr_y = torch.tensor([LAB[r["label"]] for r in tr]); va_y = np.array([LAB[r["label"]] for r in va])
    if args.extra:
        assert D is data_deeppcb, "--extra cuts DeepPCB board images"
        ex_f, ex_c, ex_l = D.extra_windows(tr, args.extra, Sf, Sc, seed=args.seed,
                                           cache=os.path.join(CACHE, f"extra{args.extra}_s{args.seed}.pt"))
        tr_f, tr_c = torch.cat([tr_f, ex_f]), torch.cat([tr_c, ex_c])
        tr_y = torch.cat([tr_y, torch.tensor([LAB[l] for l in ex_l])])
    n_train = len(tr_y)
    log(f"{args.stage} ({DS['model_name']}): train {len(tr)} images ({len(set(r[DS['group']] for r in tr))} "
        f"{DS['group']}s; {n_train} with extra windows), calib {len(ca)}, val {len(va)} ({len(set(r[DS['group']] for r in va))}); loaded in {time.time()-t0:.0f}s; "
        f"threads {args.threads}")

    teacher = None
    teacher_stage = args.stage == "teacher"
    torch.manual_seed(args.seed)  # model initialisation
    if args.stage == "teacher":
        model = EfficientNetLite0(len(D.LABELS), in_chans=ARCH["in_chans"])
        if not args.scratch:
            model.load_pretrained()
        model = model.to(memory_format=torch.channels_last)
    else:
        teacher = None if args.label_only else load_teacher(args.teacher)
        model = CFViT(ARCH, num_classes=len(D.LABELS))
        if args.init:
            from safetensors.torch import load_file
            model.load_state_dict(load_file(os.path.join(args.init, "model.safetensors")), strict=False)
            model.bn_frozen = True
        else:
            idx = np.random.default_rng([args.seed, 999]).permutation(n_train)[:256]
            model.calibrate_bn(norm(tr_c[idx].float()), norm(tr_f[idx].float()))
    ema = None
    if args.ema > 0:
        assert args.stage == "student", "--ema is for the student"
        import copy
        ema = copy.deepcopy(model)
        for p_ in ema.parameters():
            p_.requires_grad_(False)
    heads = None
    if args.feat_kd > 0:
        assert args.stage == "student" and teacher is not None, "--feat-kd needs a student with a teacher"
        assert ARCH.get("keep_coarse") is None and ARCH.get("keep_fine") is None, "--feat-kd: no token skipping"
        torch.manual_seed(args.seed + 7)
        c16 = teacher._blocks[EfficientNetLite0.STRIDE16_BLOCK]._project_conv.out_channels  # the maps' channels
        heads = FeatureHeads(ARCH["dim"], c16, teacher._conv_head.out_channels)
    opt = torch.optim.AdamW(param_groups(model, args.wd) + (param_groups(heads, args.wd) if heads else []),
                            lr=lr, betas=(0.9, 0.999))
    steps_per_epoch = (n_train + args.bs - 1) // args.bs
    total = steps_per_epoch * args.epochs
    ep0, i0, step, hist, spent = 0, 0, 0, [], 0.0
    if args.resume and os.path.exists(state_path):
        st = torch.load(state_path, weights_only=False)
        assert st["args"]["stage"] == args.stage, "state is of another stage"
        assert st["args"].get("arch", []) == args.arch, "state was trained with other --arch changes"
        model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
        assert (heads is None) == ("feat_heads" not in st), "resume with the --feat-kd the run was started with"
        if heads is not None:
            heads.load_state_dict(st["feat_heads"])
        if st.get("bn_frozen") is not None:
            model.bn_frozen = st["bn_frozen"]
        if ema is not None:
            assert "ema" in st, "state has no EMA weights: resume with the --ema it was started with"
            ema.load_state_dict(st["ema"])
        ep0, i0, step, hist, spent = st["epoch"], st["batch"], st["step"], st["hist"], st["seconds"]
        torch.set_rng_state(st["torch_rng"])
        log(f"resumed at epoch {ep0}, batch {i0} (step {step}, {spent:.0f} s spent)")

    def save(ep, i):
        save_state(state_path, model=model.state_dict(), opt=opt.state_dict(), epoch=ep, batch=i, step=step,
                   hist=hist, seconds=spent, args=vars(args), torch_rng=torch.get_rng_state(),
                   bn_frozen=getattr(model, "bn_frozen", None),
                   **({"ema": ema.state_dict()} if ema is not None else {}),
                   **({"feat_heads": heads.state_dict()} if heads is not None else {}))

    def val_eval():
        model.eval()
        if teacher_stage:
            return {"teacher": teacher_probs(model, va_f).argmax(-1).numpy()}
        m = ema if ema is not None else model
        m.eval()
        return evaluate(m, norm(va_f.float()), norm(va_c.float()), va_y)

    t_run, last_ckpt, steps_run = time.time(), time.time(), 0
    for ep in range(ep0, args.epochs):
        perm = torch.from_numpy(np.random.default_rng([args.seed, ep]).permutation(n_train))
        g = torch.Generator().manual_seed(args.seed * 100_003 + ep)
        model.train()
        tl, tn = 0.0, 0
        n_batches = steps_per_epoch
        for bi in range(0, n_batches):
            b = perm[bi * args.bs:(bi + 1) * args.bs]
            xf, xc = D.augment([tr_f[b], tr_c[b]], g)   # drawn for every batch, also skipped ones
            nm = int(round(args.mix_frac * len(b))) if teacher is not None else 0
            if nm > 0:
                lam = torch.rand(nm, generator=g)[:, None, None, None]
                partner = torch.randperm(len(b), generator=g)[:nm]
            if ep == ep0 and bi < i0:
                continue
            t_b = time.time()
            for grp in opt.param_groups:
                grp["lr"] = lr_at(step, total, lr, int(steps_per_epoch * args.warmup))
            amp = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16)
            if teacher_stage:
                with amp:
                    logits = model(xf.contiguous(memory_format=torch.channels_last))
                loss = F.cross_entropy(logits.float(), tr_y[b], label_smoothing=args.label_smoothing)
            else:
                y = tr_y[b]
                if nm > 0:
                    xf = torch.cat([lam * xf[:nm] + (1 - lam) * xf[partner], xf[nm:]])
                    xc = torch.cat([lam * xc[:nm] + (1 - lam) * xc[partner], xc[nm:]])
                    y = torch.cat([torch.full((nm,), -1, dtype=y.dtype), y[nm:]])
                if heads is not None:
                    with amp:
                        soft, m16, m32 = teacher_probs_maps(teacher, xf)
                        c, f, tok = model(norm(xf), norm(xc), tokens=True)
                        kd = heads.loss(model, tok, m16, m32)
                    loss = (cf_loss(c.float(), f.float(), y, soft=soft.float(), label_smoothing=args.label_smoothing)
                            + args.feat_kd * kd.float())
                else:
                    with amp:
                        soft = teacher_probs(teacher, xf) if teacher is not None else None
                        c, f = model(norm(xf), norm(xc))
                    loss = cf_loss(c.float(), f.float(), y, soft=None if soft is None else soft.float(),
                                   label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(model.parameters()) + (list(heads.parameters()) if heads else []), 1.0)
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for (k, e), v in zip(ema.state_dict().items(), model.state_dict().values()):
                        if e.dtype.is_floating_point:
                            e.mul_(args.ema).add_(v, alpha=1 - args.ema)
                        else:
                            e.copy_(v)
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
              "threads": args.threads, "split": {"train": len(tr), "train_with_extra": n_train, "calib": len(ca), "val": len(va)}}
    p = val_eval()
    for k, v in p.items():
        report[k] = metrics(va_y, v, D.LABELS, D.GOOD)
    if teacher_stage:
        from safetensors.torch import save_file
        sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()
              if not k.endswith("num_batches_tracked")}
        save_file(sd, os.path.join(args.out, "teacher.safetensors"))
    else:
        report["coarse_fine_agreement"] = float((p["coarse"] == p["fine"]).mean())
        save_checkpoint(ema if ema is not None else model, make_config(DS["model_name"], ARCH, D.LABELS, D.GOOD, INPUT), args.out)
    write_report(report, args.out, list(p), log)
    log(f"done: {spent:.0f} s of training ({args.threads} thread(s))")


if __name__ == "__main__":
    main()
