"""Quick unit checks of model.py (torch). Run: python3 tools/train/test_model.py"""
import os, sys
import numpy as np
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import CFViT, preprocess

torch.set_num_threads(2)
WAFER = dict(img_full=64, img_coarse=32, patch=8, stem_channels=[16, 32], dim=128, heads=4, depth=6,
             reuse_hidden=128, topk=4, rank_layers=3)
SEM = dict(img_full=224, img_coarse=112, patch=16, stem_channels=[24, 48], dim=192, heads=3, depth=8,
           reuse_hidden=192, topk=12, rank_layers=4)


def slow_fine(m, img_full, co, K):
    """Per-image, per-region loop straight from the doc's text."""
    outs = []
    P, Wc, Wf = m.P, m.Wc, m.Wf
    for b in range(img_full.shape[0]):
        r = co.scores[b].tolist()
        order = sorted(range(m.Gc), key=lambda j: (-r[j], j))
        sel = sorted(order[:K]); keep = sorted(order[K:])
        u = m.reuse(co.z[b])
        toks = [m.cls_token[0, 0] + m.pos_fine[0, 0]]
        for j in sel:
            cy, cx = divmod(j, Wc)
            reg = img_full[b:b + 1, :, 2 * P * cy:2 * P * cy + 2 * P, 2 * P * cx:2 * P * cx + 2 * P]
            f = m.stem_fn(reg)[0]  # [D,2,2]
            for a in range(2):
                for bb in range(2):
                    toks.append(f[:, a, bb] + m.pos_fine[0, 1 + (2 * cy + a) * Wf + 2 * cx + bb] + u[j])
        for j in keep:
            toks.append(co.x0[b, 1 + j] + u[j])
        x = torch.stack(toks)[None]
        for blk in m.blocks:
            x, _ = blk(x)
        outs.append(m.head(m.norm(x[:, 0]))[0])
    return torch.stack(outs)


def check(cfg, ncls, B=3):
    torch.manual_seed(0)
    m = CFViT(cfg, num_classes=ncls)
    # randomise BN so eval differs from identity
    for l in m.stem:
        l.bn.running_mean.uniform_(-0.1, 0.1); l.bn.running_var.uniform_(0.5, 2)
        l.bn.weight.data.uniform_(0.5, 1.5); l.bn.bias.data.uniform_(-0.1, 0.1)
    m.eval()
    xf = torch.randn(B, 1, m.Sf, m.Sf); xc = torch.randn(B, 1, m.Sc, m.Sc)
    with torch.no_grad():
        co = m.coarse(xc)
        assert co.logits.shape == (B, ncls) and co.scores.shape == (B, m.Gc)
        assert co.embed.shape == (B, m.Gc, m.D) and co.block0.shape == (B, 1 + m.Gc, m.D)
        for K in (0, 1, m.K, m.Gc):
            a = m.fine(xf, co, K); s = slow_fine(m, xf, co, K)
            err = (a - s).abs().max().item()
            assert err < 1e-4, (K, err)
        # training-path token assembly (all regions stemmed, then gathered) with BN in eval
        m.training = True
        c2, f2 = m(xf, xc)
        m.training = False
        c1, f1 = m(xf, xc)
        assert (c1 - c2).abs().max() < 1e-5 and (f1 - f2).abs().max() < 1e-4
        # determinism
        assert torch.equal(m.fine(xf, co), m.fine(xf, co))
    sel, keep = CFViT.select(torch.tensor([[0.1, 0.3, 0.3, 0.2, 0.3]]), 2)
    assert sel.tolist() == [[1, 2]] and keep.tolist() == [[0, 3, 4]], (sel, keep)
    names = set(m.state_dict())
    for n in ["stem.0.conv.weight", "stem.0.bn.running_var", "stem.1.conv.weight", "patch.weight", "patch.bias",
              "cls_token", "pos_coarse", "pos_fine", "blocks.0.attn.qkv.weight", "blocks.0.mlp.fc2.bias",
              "norm.weight", "head.weight", "reuse.norm.weight", "reuse.fc1.weight", "reuse.fc2.bias"]:
        assert n in names, n
    # forward(tokens=True): the same logits, and the token layout feature distillation relies on
    with torch.no_grad():
        c0, f0 = m(xf, xc)
        c1, f1, tok = m(xf, xc, tokens=True)
        assert torch.equal(c0, c1) and torch.equal(f0, f1)
        assert torch.equal(tok["z"], co.z)
        sel, keep = CFViT.select(co.scores, m.K)
        assert torch.equal(tok["sel"], sel) and torch.equal(tok["keep"], keep)
        assert tok["fine"].shape == (B, 4 * m.K + m.Gc - m.K, m.D)
        # the fine tokens are the fine pass's last-block output for the selected regions' stem maps
        _, x = m.fine_from_map(m.stem_selected(xf, sel), co, sel, keep, tokens=True)
        assert torch.equal(x[:, 1:], tok["fine"])
    # training step works (BN joint)
    m.train()
    c, f = m(xf, xc)
    (c.sum() + f.sum()).backward()
    print("ok", cfg["dim"], "params", sum(p.numel() for p in m.parameters()))


def check_pre():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, (27, 41), dtype=np.uint8)
    t = preprocess(a, 2, 0.5, 0.5, 64)
    ref = F.interpolate(torch.from_numpy(a.astype(np.float32))[None, None] / 2, size=(64, 64), mode="bilinear",
                        align_corners=False)
    assert torch.allclose(t, (ref - 0.5) / 0.5)
    print("ok preprocess")


if __name__ == "__main__":
    check_pre()
    check(WAFER, 9)
    check(SEM, 7, B=2)
