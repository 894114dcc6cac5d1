"""Token skipping (docs/model-family.md "Token skipping") measured on a shipped model without retraining:
for each setting of the skipping keys, convert the checkpoint with them (q8, `triage convert`), classify a
labelled set with the engine (the `triage` Python package) at each forced pass, and report argmax accuracy
and engine time per pass. Settings run interleaved image by image, so load on the machine falls on
every setting alike.

  python3 tools/train/skip_table.py models/adc-pcb tools/train/runs/calib/adc-pcb/val.csv \
      --setting none --setting kc=8,s=3 --setting kf=5 --setting kc=8,s=3,kf=5 [--threads 1] [--limit 0]

A setting: `none`, or comma-separated kc=keep_coarse, s=skip_layer, kf=keep_fine; `DIR@SETTING` takes the
checkpoint from DIR instead of the model directory (e.g. one fine-tuned with that skipping). Accuracy: the top
probability's class against the label, per forced pass (coarse; fine with K = arch.topk; fine-all).
Times: median engine microseconds per image of each pass (coarse_us of the forced coarse run, fine_us of
the forced fine run). Tokens: the engine's per-block mean (triage_result.tokens).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAMES = {"kc": "keep_coarse", "s": "skip_layer", "kf": "keep_fine"}


def parse_setting(s: str) -> dict:
    if s == "none":
        return {}
    out = {}
    for kv in s.split(","):
        k, _, v = kv.partition("=")
        out[NAMES[k]] = int(v)
    return out


def convert(model_dir: str, keys: dict, out: str, cli: str) -> None:
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    for k in NAMES.values():
        cfg["arch"].pop(k, None)
    cfg["arch"].update(keys)
    with tempfile.TemporaryDirectory() as d:
        os.symlink(os.path.abspath(os.path.join(model_dir, "model.safetensors")), os.path.join(d, "model.safetensors"))
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        subprocess.run([cli, "convert", d, "--dtype", "q8", "-o", out], check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("data")
    ap.add_argument("--setting", action="append", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="first N images only (0: all)")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "triage"))
    ap.add_argument("--json", default=None, help="also write the table as JSON here")
    args = ap.parse_args()
    import triage
    from triage import read_image

    base = os.path.dirname(os.path.abspath(args.data))
    with open(args.data) as f:
        rows = list(csv.DictReader(f))
    if args.limit:
        rows = rows[:args.limit]
    tmp = tempfile.mkdtemp(prefix="skip_table_")
    settings = [(s, parse_setting(s.rpartition("@")[2])) for s in args.setting]
    models = {}
    for i, (name, keys) in enumerate(settings):
        path = os.path.join(tmp, f"{i}.trw")
        convert(name.rpartition("@")[0] or args.model_dir, keys, path, args.cli)
        models[name] = {f: triage.Model(path, threads=args.threads, force=f, allow_uncalibrated=True)
                        for f in ("coarse", "fine", "fine-all")}
    names = models[settings[0][0]]["coarse"].class_names
    channels = models[settings[0][0]]["coarse"].in_channels
    stats = {n: {f: {"ok": 0, "us": [], "tokens": 0} for f in ("coarse", "fine", "fine-all")} for n, _ in settings}
    for r in rows:
        img = read_image(os.path.join(base, r["path"]), channels=channels)
        for n, _ in settings:
            for f, m in models[n].items():
                res = m.classify(img)
                s = stats[n][f]
                s["ok"] += names[int(np.argmax(res.probabilities))] == r["label"]
                s["us"].append(res.coarse_us if f == "coarse" else res.fine_us)
                s["tokens"] = res.tokens
    N = len(rows)
    table = []
    print(f"{args.model_dir}: {N} images of {args.data}, q8, {args.threads} thread(s), settings interleaved per image")
    print("| setting | coarse acc | fine acc | fine-all acc | coarse us (median) | fine us (median) | tokens coarse / +fine |")
    print("|---|---|---|---|---|---|---|")
    for n, keys in settings:
        s = stats[n]
        row = {"setting": n, "keys": keys, "images": N,
               **{f"{f}_acc": s[f]["ok"] / N for f in s}, "coarse_us": float(np.median(s["coarse"]["us"])),
               "fine_us": float(np.median(s["fine"]["us"])), "tokens_coarse": s["coarse"]["tokens"],
               "tokens_fine": s["fine"]["tokens"] - s["coarse"]["tokens"]}
        table.append(row)
        print(f"| {n} | {100 * row['coarse_acc']:.2f}% | {100 * row['fine_acc']:.2f}% | {100 * row['fine-all_acc']:.2f}% | "
              f"{row['coarse_us']:.0f} | {row['fine_us']:.0f} | {row['tokens_coarse']} / {row['tokens_fine']} |")
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(table, f, indent=1)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    sys.exit(main())
