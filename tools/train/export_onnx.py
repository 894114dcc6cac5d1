"""ONNX export (opset 17) of a cfvit model's two passes, for peer benchmarks (ONNX Runtime, OpenVINO).
Generated on demand, not committed:

  python3 tools/train/export_onnx.py models/adc-sem --out out/onnx [--batch 1] [--check]

Writes <out>/<model>.coarse.onnx and <out>/<model>.fine.onnx (fixed batch, fixed K = config topk).

coarse.onnx
  inputs : img_coarse f32 [B, 1, Sc, Sc]   (preprocessed as docs/model-family.md)
  outputs: coarse_logits [B, ncls], rank_scores [B, Gc], z [B, Gc, D] (final patch features),
           x0 [B, 1+Gc, D] (coarse input tokens)
fine.onnx (fixed K)
  inputs : img_full f32 [B, 1, Sf, Sf], rank_scores [B, Gc], z [B, Gc, D], x0 [B, 1+Gc, D]
           (the coarse outputs of the same image)
  outputs: fine_logits [B, ncls]
  The top-K selection (ties to the lower index, ascending) is inside the graph (TopK ops), the
  region stem runs on the K selected 2Px2P regions of img_full.
--check: runs both graphs with onnxruntime (if importable) and compares with model.py.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_goldens import load_model  # noqa: E402
from model import CFViT, CoarseOut  # noqa: E402


class CoarsePass(nn.Module):
    def __init__(self, m: CFViT):
        super().__init__()
        self.m = m

    def forward(self, img_coarse):
        co = self.m.coarse(img_coarse)
        return co.logits, co.scores, co.z, co.x0


class FinePass(nn.Module):
    def __init__(self, m: CFViT, K: int):
        super().__init__()
        self.m, self.K = m, K

    def forward(self, img_full, rank_scores, z, x0):
        m, K = self.m, self.K
        B = img_full.shape[0]
        G = m.Gc
        # top-K, ties to the lower index: a tiny index-dependent tie-break keeps TopK exact for
        # equal scores whatever the runtime's TopK tie rule is
        idx = torch.arange(G, dtype=torch.float32)
        key = rank_scores.double() - idx.double() * 1e-12
        top = torch.topk(key, K, dim=1).indices
        sel = torch.sort(top, dim=1).values
        mark = torch.zeros(B, G, dtype=torch.int64).scatter(1, top, 1)
        keep = torch.sort(mark * G + torch.arange(G)[None], dim=1).values[:, : G - K]
        co = CoarseOut(None, rank_scores, z, x0, None, None)
        reg = m.regions(img_full)[torch.arange(B)[:, None], sel]
        reg = reg.reshape(B * K, *reg.shape[2:])
        fm = m.stem_fn(reg).reshape(B, K, m.D, 2, 2)
        return m.fine_from_map(fm, co, sel, keep)


def export(d: str, out: str, batch: int = 1, check: bool = False):
    m, cfg = load_model(d)
    name = cfg["model_name"]
    # The peers' graphs have no token skipping (docs/model-family.md "Token skipping"): refuse a model
    # with it rather than export a different model under its name.
    assert m.keep_coarse is None and m.keep_fine is None, f"{d}: token skipping is not exported to ONNX"
    os.makedirs(out, exist_ok=True)
    a = cfg["arch"]
    xc = torch.randn(batch, a["in_chans"], a["img_coarse"], a["img_coarse"])
    xf = torch.randn(batch, a["in_chans"], a["img_full"], a["img_full"])
    cp, fp = CoarsePass(m).eval(), FinePass(m, m.K).eval()
    with torch.no_grad():
        logits, scores, z, x0 = cp(xc)
        ref = fp(xf, scores, z, x0)
    pc, pf = os.path.join(out, f"{name}.coarse.onnx"), os.path.join(out, f"{name}.fine.onnx")
    kw = dict(opset_version=17, do_constant_folding=True)
    try:
        torch.onnx.export(cp, (xc,), pc, input_names=["img_coarse"],
                          output_names=["coarse_logits", "rank_scores", "z", "x0"], dynamo=False, **kw)
        torch.onnx.export(fp, (xf, scores, z, x0), pf, input_names=["img_full", "rank_scores", "z", "x0"],
                          output_names=["fine_logits"], dynamo=False, **kw)
    except TypeError:  # older torch without the dynamo keyword
        torch.onnx.export(cp, (xc,), pc, input_names=["img_coarse"],
                          output_names=["coarse_logits", "rank_scores", "z", "x0"], **kw)
        torch.onnx.export(fp, (xf, scores, z, x0), pf, input_names=["img_full", "rank_scores", "z", "x0"],
                          output_names=["fine_logits"], **kw)
    print(f"wrote {pc} and {pf} (batch {batch}, K {m.K})")
    try:
        import onnx
        for p in (pc, pf):
            onnx.checker.check_model(onnx.load(p))
        print("onnx.checker: ok")
    except ImportError:
        print("onnx not importable: graphs not checked with onnx.checker")
    if check:
        try:
            import onnxruntime as ort
        except ImportError:
            print("onnxruntime not importable: --check skipped")
            return
        sc = ort.InferenceSession(pc, providers=["CPUExecutionProvider"])
        sf = ort.InferenceSession(pf, providers=["CPUExecutionProvider"])
        o = sc.run(None, {"img_coarse": xc.numpy()})
        f = sf.run(None, {"img_full": xf.numpy(), "rank_scores": o[1], "z": o[2], "x0": o[3]})[0]
        print(f"onnxruntime: coarse max diff {abs(o[0] - logits.numpy()).max():.2e}, "
              f"fine max diff {abs(f - ref.numpy()).max():.2e}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dirs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    for d in a.model_dirs:
        export(d, a.out, a.batch, a.check)
