"""Golden tensors for the engine's parity tests, computed in float32 by model.py in eval mode.

  python3 tools/train/export_goldens.py models/awc-wm811k models/adc-pcb models/adc-optical

For the first 16 rows (8 for a 3-channel model) of <model>/samples/labels.csv writes <model>/goldens.safetensors with
  input_full [16,1,Sf,Sf], input_coarse [16,1,Sc,Sc]  preprocessed f32 (doc "Preprocessing")
  coarse_embed [16,Gc,D]    patch projection output (before cls / pos)
  coarse_block0 [16,1+Gc,D] coarse tokens after block 0
  coarse_logits [16,ncls], rank_scores [16,Gc], selected [16,K] int64 ascending
  fine_logits [16,ncls]     routed fine pass with the model's K
  fine_all_logits [16,ncls] fine pass with K = Gc
and the same passes with token skipping (docs/model-family.md "Token skipping"; the keys in the
metadata's "skip": the model's own if its config has them, else keep_coarse = max(K, Gc / 2),
skip_layer = depth - rank_layers, keep_fine = (Gc - K) / 2):
  skip_coarse_logits, skip_rank_scores, skip_dropped [16,Gc] int64 (1 = fused away), skip_selected,
  skip_fine_logits, skip_fine_all_logits
and __metadata__ {"paths": JSON list of the input files relative to the model dir, "K": "<K>",
"labels": JSON list of the samples' labels, "skip": JSON object of the skipping keys}.
"""
from __future__ import annotations

import csv
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import png  # noqa: E402
from model import SKIP_KEYS, CFViT, preprocess_pair  # noqa: E402

N = 16
N_COLOUR = 8  # 3-channel 224-px inputs are 0.8 MB a golden row: half as many keep models/ small


def load_input(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path)
    if path.endswith(".png"):
        return png.read(path)
    if path.endswith((".jpg", ".jpeg")):  # colour review images: [3, H, W] uint8 (PIL's libjpeg-turbo)
        from PIL import Image
        with Image.open(path) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB")).transpose(2, 0, 1))
    raise ValueError(path)


def skip_keys(arch: dict) -> dict:
    """The skipping keys of the goldens' skip_* set (see the module doc)."""
    if any(k in arch for k in SKIP_KEYS):
        return {k: arch[k] for k in SKIP_KEYS if k in arch}
    G = (arch["img_coarse"] // arch["patch"]) ** 2
    return {"keep_coarse": max(arch["topk"], G // 2), "skip_layer": arch["depth"] - arch["rank_layers"],
            "keep_fine": (G - arch["topk"]) // 2}


def load_model(d: str, arch_override: dict | None = None):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    arch = {k: v for k, v in cfg["arch"].items() if arch_override is None or k not in SKIP_KEYS}
    arch.update(arch_override or {})
    m = CFViT(arch, num_classes=len(cfg["labels"]))
    sd = load_file(os.path.join(d, "model.safetensors"))
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    m.eval()
    return m, cfg


@torch.no_grad()
def goldens(d: str):
    torch.set_num_threads(2)
    m, cfg = load_model(d)
    with open(os.path.join(d, "samples", "labels.csv")) as f:
        rows = list(csv.DictReader(f))[:N_COLOUR if cfg["arch"]["in_chans"] == 3 else N]
    paths = ["samples/" + r["path"] for r in rows]
    fulls, coarses = [], []
    for p in paths:
        f, c = preprocess_pair(load_input(os.path.join(d, p)), cfg["input"], cfg["arch"])
        fulls.append(f); coarses.append(c)
    full = torch.cat(fulls); coarse = torch.cat(coarses)
    co = m.coarse(coarse)
    sel, _ = m.select(co.scores, m.K)
    out = {
        "input_full": full, "input_coarse": coarse,
        "coarse_embed": co.embed, "coarse_block0": co.block0,
        "coarse_logits": co.logits, "rank_scores": co.scores,
        "selected": sel.to(torch.int64),
        "fine_logits": m.fine(full, co, m.K),
        "fine_all_logits": m.fine(full, co, m.Gc),
    }
    skip = skip_keys(cfg["arch"])
    ms, _ = load_model(d, skip)
    cs = ms.coarse(coarse)
    out.update({
        "skip_coarse_logits": cs.logits, "skip_rank_scores": cs.scores,
        "skip_dropped": cs.dropped.to(torch.int64),
        "skip_selected": ms.split(cs, ms.K)[0].to(torch.int64),
        "skip_fine_logits": ms.fine(full, cs, ms.K),
        "skip_fine_all_logits": ms.fine(full, cs, ms.Gc),
    })
    out = {k: v.contiguous() for k, v in out.items()}
    for k, v in out.items():
        if k not in ("selected", "skip_selected", "skip_dropped"):
            assert v.dtype == torch.float32, k
    meta = {"paths": json.dumps(paths), "K": str(m.K), "labels": json.dumps([r["label"] for r in rows]),
            "skip": json.dumps(skip)}
    save_file(out, os.path.join(d, "goldens.safetensors"), metadata=meta)
    pred = [cfg["labels"][i] for i in out["fine_logits"].argmax(-1).tolist()]
    ok = sum(p == r["label"] for p, r in zip(pred, rows))
    ok_s = sum(cfg["labels"][i] == r["label"] for i, r in zip(out["skip_fine_logits"].argmax(-1).tolist(), rows))
    print(f"{d}: goldens for {len(rows)} inputs, K={m.K}; fine argmax == label for {ok}/{len(rows)}; "
          f"with skipping {skip}: {ok_s}/{len(rows)}")


if __name__ == "__main__":
    for d in sys.argv[1:] or ["models/awc-wm811k", "models/adc-pcb", "models/adc-optical"]:
        goldens(d)
