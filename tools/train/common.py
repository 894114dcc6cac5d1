"""Shared training helpers: metrics, losses, schedules, checkpoint writing."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file


def grouped_split(rows, stratum: str, unit: str, seed: int, val_frac: float, calib_frac: float):
    """(train, calib, val) rows: every `unit` (a board image, a defect) goes wholly to one side; within
    each `stratum` (board group, class), ~val_frac of its units go to validation and ~calib_frac to
    calibration (sorted, then shuffled with `seed`: deterministic)."""
    by_stratum = {}
    for r in rows:
        by_stratum.setdefault(r[stratum], set()).add(r[unit])
    rng = np.random.default_rng(seed)
    val, cal = set(), set()
    for g in sorted(by_stratum):
        units = sorted(by_stratum[g])
        rng.shuffle(units)
        nv, nc = round(val_frac * len(units)), round(calib_frac * len(units))
        val.update(units[:nv]); cal.update(units[nv:nv + nc])
    tr = [r for r in rows if r[unit] not in val and r[unit] not in cal]
    return tr, [r for r in rows if r[unit] in cal], [r for r in rows if r[unit] in val]


def metrics(y_true, y_pred, labels, good_label):
    """accuracy, per-class recall, escapes (defect -> good), over-rejects (good -> defect); a model
    without a good class (good_label None) has no escape figures (None)."""
    y_true = np.asarray(y_true); y_pred = np.asarray(y_pred)
    n = len(labels)
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    recall = {labels[i]: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None) for i in range(n)}
    if good_label is None:
        return {"n": int(len(y_true)), "accuracy": float((y_true == y_pred).mean()) if len(y_true) else None,
                "recall": recall, "escapes": None, "n_defect": int(len(y_true)), "over_rejects": None,
                "n_good": 0, "confusion": cm.tolist()}
    g = labels.index(good_label)
    defect = y_true != g
    return {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else None,
        "recall": recall,
        "escapes": int((defect & (y_pred == g)).sum()),
        "n_defect": int(defect.sum()),
        "over_rejects": int((~defect & (y_pred != g)).sum()),
        "n_good": int((~defect).sum()),
        "confusion": cm.tolist(),
    }


def cf_loss(coarse_logits, fine_logits, y, w_coarse=1.0, w_kd=1.0, T=1.0, soft=None, w_soft=1.0,
            label_smoothing=0.0, class_weight=None):
    """Joint coarse+fine loss: CE on the fine logits, CE on the coarse logits, and the
    coarse-to-fine distillation KL(fine || coarse) with the fine pass detached (the coarse pass is
    trained to agree with the fine pass). soft: optional teacher probabilities [B, ncls]; rows with
    y < 0 are unlabelled and only get the soft (teacher) loss. class_weight: optional [ncls] weights of
    the labelled cross-entropy terms (torch's `weight`: the batch mean is weighted too)."""
    loss = 0.0
    lab = y >= 0
    if lab.any():
        loss = loss + F.cross_entropy(fine_logits[lab], y[lab], weight=class_weight, label_smoothing=label_smoothing)
        loss = loss + w_coarse * F.cross_entropy(coarse_logits[lab], y[lab], weight=class_weight,
                                                 label_smoothing=label_smoothing)
    if soft is not None:
        loss = loss + w_soft * soft_ce(fine_logits, soft) + w_soft * w_coarse * soft_ce(coarse_logits, soft)
    p_f = F.softmax(fine_logits.detach() / T, -1)
    loss = loss + w_kd * (T * T) * F.kl_div(F.log_softmax(coarse_logits / T, -1), p_f, reduction="batchmean")
    return loss


def soft_ce(logits, p):
    return -(p * F.log_softmax(logits, -1)).sum(-1).mean()


def lr_at(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


def param_groups(model, wd):
    decay, no = [], []
    for n, p in model.named_parameters():
        if p.ndim < 2 or n in ("cls_token", "pos_coarse", "pos_fine"):
            no.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no, "weight_decay": 0.0}]


def save_checkpoint(model, config: dict, outdir: str):
    os.makedirs(outdir, exist_ok=True)
    sd = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()
          if not k.endswith("num_batches_tracked")}
    save_file(sd, os.path.join(outdir, "model.safetensors"))
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


@torch.no_grad()
def evaluate(model, full, coarse, y, K=None, bs=128, fine_all=True):
    """Returns dict of predictions: coarse, fine (routed, model K), fine_all (K = Gc; skipped,
    returned as -1, when fine_all=False)."""
    model.eval()
    pc, pf, pa = [], [], []
    for i in range(0, len(full), bs):
        xf = full[i:i + bs]; xc = coarse[i:i + bs]
        co = model.coarse(xc)
        pc.append(co.logits.argmax(-1))
        pf.append(model.fine(xf, co, K).argmax(-1))
        pa.append(model.fine(xf, co, model.Gc).argmax(-1) if fine_all
                  else torch.full((len(xf),), -1, dtype=torch.long))
    return {"coarse": torch.cat(pc).numpy(), "fine": torch.cat(pf).numpy(), "fine_all": torch.cat(pa).numpy()}


def write_report(report: dict, outdir: str, keys, log) -> None:
    """report.json beside the run (atomically), then one log line per evaluated pass in keys."""
    tmp = os.path.join(outdir, "report.json.tmp")
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, os.path.join(outdir, "report.json"))
    for k in keys:
        r = report[k]
        log(f"{k}: acc {r['accuracy']:.4f} escapes {r['escapes']}/{r['n_defect']} over-rejects "
            f"{r['over_rejects']}/{r['n_good']} recall " + " ".join(f"{c}={v:.2f}" for c, v in r["recall"].items()))
