"""Reference PyTorch implementation of the `cfvit` model family (docs/model-family.md).

Everything here follows docs/model-family.md exactly; where they disagree, the doc is right.
Parameter names are the doc's checkpoint names (stem.0.conv, stem.0.bn, ..., reuse.fc2).

Public API
  preprocess(raw, max_value, mean, std, S)      -> [1, 1, S, S] f32 tensor (doc "Preprocessing")
  CFViT(cfg)                                    cfg = the config.json `arch` object
    .coarse(img_coarse)                         -> CoarseOut (logits, scores, z, x0, embed, block0)
    .select(scores, K)                          -> (sel [B,K] ascending, keep [B,Gc-K] ascending)
    .fine(img_full, coarse_out, K)              -> fine logits [B, ncls]
    .forward(img_full, img_coarse, K=None)      -> (coarse_logits, fine_logits) routed (training)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------
# Preprocessing


def preprocess(raw, max_value: float, mean: float, std: float, S: int) -> torch.Tensor:
    """raw: HxW (or CxHxW) uint8/uint16 array. Returns [1, C, S, S] float32.

    1. x = v / max_value (f32); 2. bilinear resize, half-pixel centres, no antialias
    (== F.interpolate(align_corners=False, antialias=False)); 3. (x - mean) / std.
    """
    a = np.asarray(raw)
    if a.ndim == 2:
        a = a[None]
    x = torch.from_numpy(a.astype(np.float32)) / np.float32(max_value)
    x = x[None]
    x = F.interpolate(x, size=(S, S), mode="bilinear", align_corners=False, antialias=False)
    return (x - np.float32(mean)) / np.float32(std)


def preprocess_pair(raw, inp: dict, arch: dict):
    """Both resolutions, straight from the original image. inp = config.json `input`."""
    a = np.asarray(raw)
    mv = inp["max_value_u16"] if a.dtype == np.uint16 else inp["max_value_u8"]
    full = preprocess(a, mv, inp["mean"], inp["std"], arch["img_full"])
    coarse = preprocess(a, mv, inp["mean"], inp["std"], arch["img_coarse"])
    return full, coarse


# ----------------------------------------------------------------------------------------------
# Building blocks


class ConvBN(nn.Module):
    """conv 3x3 stride 2 pad 1 (no bias) + BatchNorm + ReLU. Names: .conv, .bn."""

    def __init__(self, cin: int, cout: int, bn_eps: float):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=bn_eps)


def _bn_joint(bn: nn.BatchNorm2d, xs: List[torch.Tensor]) -> List[torch.Tensor]:
    """BatchNorm over several tensors of different spatial sizes with ONE set of batch statistics
    (training), so the coarse image and the fine regions share the statistics the running
    averages will hold at inference. In eval mode: plain running-stat BN."""
    if not bn.training:
        return [F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
                for x in xs]
    n = sum(x.numel() // x.shape[1] for x in xs)
    mean = sum(x.sum(dim=(0, 2, 3)) for x in xs) / n
    var = sum(((x - mean[None, :, None, None]) ** 2).sum(dim=(0, 2, 3)) for x in xs) / n
    with torch.no_grad():
        m = bn.momentum
        bn.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
        bn.running_var.mul_(1 - m).add_(var.detach() * (n / max(n - 1, 1)), alpha=m)
        bn.num_batches_tracked += 1
    inv = torch.rsqrt(var + bn.eps) * bn.weight
    shift = bn.bias - mean * inv
    return [x * inv[None, :, None, None] + shift[None, :, None, None] for x in xs]


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.hd = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, y):
        """Returns (out, cls_row) with cls_row [B, N-1] = mean over heads of A_h[0, 1:]."""
        B, N, D = y.shape
        qkv = self.qkv(y).reshape(B, N, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                                   # [B, H, N, hd]
        a = torch.matmul(q, k.transpose(-2, -1)) * (self.hd ** -0.5)
        a = a.softmax(dim=-1)
        o = torch.matmul(a, v).transpose(1, 2).reshape(B, N, D)
        cls_row = a[:, :, 0, 1:].mean(dim=1)
        return self.proj(o), cls_row


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, out: Optional[int] = None):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, out or dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: int, ln_eps: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        self.mlp = Mlp(dim, mlp_ratio * dim)

    def forward(self, x):
        o, cls_row = self.attn(self.norm1(x))
        x = x + o
        x = x + self.mlp(self.norm2(x))
        return x, cls_row


class Reuse(nn.Module):
    def __init__(self, dim: int, hidden: int, ln_eps: float):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=ln_eps)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, z):
        return self.fc2(F.gelu(self.fc1(self.norm(z))))


@dataclass
class CoarseOut:
    logits: torch.Tensor   # [B, ncls]
    scores: torch.Tensor   # [B, Gc] ranking scores r
    z: torch.Tensor        # [B, Gc, D] final patch features (before the final norm)
    x0: torch.Tensor       # [B, 1+Gc, D] coarse input tokens
    embed: torch.Tensor    # [B, Gc, D] patch projection output (before cls/pos)
    block0: torch.Tensor   # [B, 1+Gc, D] after block 0
    dropped: Optional[torch.Tensor] = None  # [B, Gc] bool: fused away by token skipping (None: no skipping)


ARCH_DEFAULTS = {"name": "cfvit", "in_chans": 1, "mlp_ratio": 4, "ln_eps": 1e-6, "bn_eps": 1e-5}
SKIP_KEYS = ("keep_coarse", "skip_layer", "keep_fine")  # optional (docs/model-family.md "Token skipping")


class CFViT(nn.Module):
    def __init__(self, cfg: dict, num_classes: Optional[int] = None):
        super().__init__()
        cfg = {**ARCH_DEFAULTS, **cfg}
        assert cfg["name"] == "cfvit"
        self.cfg = cfg
        C, D, P = cfg["in_chans"], cfg["dim"], cfg["patch"]
        c1, c2 = cfg["stem_channels"]
        self.Sf, self.Sc = cfg["img_full"], cfg["img_coarse"]
        assert self.Sc * 2 == self.Sf and P % 4 == 0 and self.Sc % P == 0
        self.P, self.D = P, D
        self.Wc = self.Sc // P
        self.Wf = 2 * self.Wc
        self.Gc = self.Wc * self.Wc
        self.Gf = 4 * self.Gc
        self.K = cfg["topk"]
        self.R = cfg["rank_layers"]
        # Token skipping: keep_coarse / skip_layer together or neither; keep_fine alone (None: off).
        self.keep_coarse, self.skip_layer = cfg.get("keep_coarse"), cfg.get("skip_layer")
        self.keep_fine = cfg.get("keep_fine")
        assert (self.keep_coarse is None) == (self.skip_layer is None), "keep_coarse and skip_layer come together"
        if self.keep_coarse is not None:
            assert max(self.K, 1) <= self.keep_coarse < self.Gc and 1 <= self.skip_layer <= cfg["depth"] - self.R
        if self.keep_fine is not None:
            assert 0 <= self.keep_fine < self.Gc - self.K
        ncls = num_classes if num_classes is not None else cfg["num_classes"]
        self.ncls = ncls
        self.stem = nn.Sequential(ConvBN(C, c1, cfg["bn_eps"]), ConvBN(c1, c2, cfg["bn_eps"]))
        self.patch = nn.Conv2d(c2, D, P // 4, stride=P // 4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_coarse = nn.Parameter(torch.zeros(1, 1 + self.Gc, D))
        self.pos_fine = nn.Parameter(torch.zeros(1, 1 + self.Gf, D))
        self.blocks = nn.ModuleList(
            [Block(D, cfg["heads"], cfg["mlp_ratio"], cfg["ln_eps"]) for _ in range(cfg["depth"])])
        self.norm = nn.LayerNorm(D, eps=cfg["ln_eps"])
        self.head = nn.Linear(D, ncls)
        self.reuse = Reuse(D, cfg["reuse_hidden"], cfg["ln_eps"])
        # bn_frozen: the stem's BN layers always use their running statistics (set once by
        # calibrate_bn), so training computes exactly what inference computes and the training
        # forward only stems the K selected regions. False: joint batch statistics (_bn_joint).
        self.bn_frozen = False
        self._init()

    def _init(self):
        for n, p in self.named_parameters():
            if n in ("cls_token", "pos_coarse", "pos_fine"):
                nn.init.trunc_normal_(p, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        # fine position table starts as the coarse one, upsampled (a useful prior)
        with torch.no_grad():
            g = self.pos_coarse[0, 1:].reshape(self.Wc, self.Wc, self.D)
            g = g.repeat_interleave(2, 0).repeat_interleave(2, 1).reshape(self.Gf, self.D)
            self.pos_fine[0, 1:] = g
            self.pos_fine[0, 0] = self.pos_coarse[0, 0]

    def train(self, mode: bool = True):
        super().train(mode)
        if self.bn_frozen:
            for layer in self.stem:
                layer.bn.eval()
        return self

    @torch.no_grad()
    def calibrate_bn(self, img_coarse: torch.Tensor, img_full: torch.Tensor, freeze: bool = True):
        """Set the stem BN running statistics to the joint batch statistics of a batch of coarse
        images and of all the fine regions of the matching full images (current weights), and
        optionally freeze them for training."""
        B = img_full.shape[0]
        reg = self.regions(img_full).reshape(B * self.Gc, img_full.shape[1], 2 * self.P, 2 * self.P)
        xs = [img_coarse, reg]
        for layer in self.stem:
            xs = [layer.conv(x) for x in xs]
            n = sum(x.numel() // x.shape[1] for x in xs)
            mean = sum(x.sum(dim=(0, 2, 3)) for x in xs) / n
            var = sum(((x - mean[None, :, None, None]) ** 2).sum(dim=(0, 2, 3)) for x in xs) / n
            layer.bn.running_mean.copy_(mean)
            layer.bn.running_var.copy_(var)
            xs = [F.relu(F.batch_norm(x, mean, var, layer.bn.weight, layer.bn.bias, False, 0.0, layer.bn.eps))
                  for x in xs]
        self.bn_frozen = freeze
        self.train(self.training)

    # ---- stem ---------------------------------------------------------------------------------
    def stem_multi(self, imgs: List[torch.Tensor]) -> List[torch.Tensor]:
        """stem() on several image batches; in training the BN statistics are shared."""
        xs = imgs
        for layer in self.stem:
            xs = [layer.conv(x) for x in xs]
            xs = _bn_joint(layer.bn, xs)
            xs = [F.relu(x) for x in xs]
        return [self.patch(x) for x in xs]

    def stem_fn(self, img):
        return self.stem_multi([img])[0]

    def regions(self, img_full: torch.Tensor) -> torch.Tensor:
        """[B, C, Sf, Sf] -> [B, Gc, C, 2P, 2P]: the region of coarse patch j=(cy,cx) is
        rows 2P cy .. 2P cy + 2P - 1, cols 2P cx .. ."""
        B, C = img_full.shape[:2]
        s = 2 * self.P
        r = img_full.reshape(B, C, self.Wc, s, self.Wc, s).permute(0, 2, 4, 1, 3, 5)
        return r.reshape(B, self.Gc, C, s, s)

    # ---- passes -------------------------------------------------------------------------------
    def run_blocks(self, x, keep_rank: bool):
        L = len(self.blocks)
        scores = None
        block0 = None
        for l, blk in enumerate(self.blocks):
            x, cls_row = blk(x)
            if l == 0:
                block0 = x
            if keep_rank and l >= L - self.R:
                scores = cls_row if scores is None else scores + cls_row
        return x, scores, block0

    def coarse_from_embed(self, e_map: torch.Tensor) -> CoarseOut:
        B = e_map.shape[0]
        e = e_map.flatten(2).transpose(1, 2)                          # [B, Gc, D] row-major
        x0 = torch.cat([self.cls_token.expand(B, -1, -1), e], 1) + self.pos_coarse
        if self.keep_coarse is None:
            x, scores, block0 = self.run_blocks(x0, True)
            logits = self.head(self.norm(x[:, 0]))
            return CoarseOut(logits, scores, x[:, 1:], x0, e, block0)
        return self.coarse_skipping(x0, e)

    def coarse_skipping(self, x0, e) -> CoarseOut:
        """Coarse pass with token skipping: after block skip_layer - 1, keep the keep_coarse patch tokens
        with the largest CLS attention a (ties to the smaller index; ascending) and fuse the others into
        one token, sum(a_j x_j) / sum(a_j) over the dropped j; the later blocks run on [cls, kept, fused].
        scores: the ranking layers' sum for a kept patch, a for a dropped one; z: the final features of a
        kept patch, the skip layer's of a dropped one."""
        B, G, kc, L = x0.shape[0], self.Gc, self.keep_coarse, len(self.blocks)
        bidx = torch.arange(B)[:, None]
        x, block0, r = x0, None, None
        for l, blk in enumerate(self.blocks):
            x, cls_row = blk(x)
            if l == 0:
                block0 = x
            if l == self.skip_layer - 1:
                a = cls_row                                               # [B, Gc]
                order = torch.sort(a.detach(), dim=1, descending=True, stable=True).indices
                kept = torch.sort(order[:, :kc], dim=1).values            # [B, kc] ascending
                drop = torch.sort(order[:, kc:], dim=1).values            # [B, Gc-kc] ascending
                dropped = torch.zeros(B, G, dtype=torch.bool).scatter(1, drop, True)
                z_skip, a_skip = x[:, 1:], a
                wd = a[bidx, drop]                                        # [B, Gc-kc]
                wsum = wd.sum(1, keepdim=True)
                w = torch.where(wsum > 0, wd / wsum.clamp_min(1e-30), torch.full_like(wd, 1.0 / wd.shape[1]))
                fused = (w[:, :, None] * x[:, 1:][bidx, drop]).sum(1, keepdim=True)
                x = torch.cat([x[:, :1], x[:, 1:][bidx, kept], fused], 1)
            if l >= L - self.R:                                           # always after the skip
                r = cls_row[:, :kc] if r is None else r + cls_row[:, :kc]
        scores = a_skip.masked_fill(~dropped, 0.0).scatter(1, kept, r)
        z = z_skip.scatter(1, kept[:, :, None].expand(-1, -1, self.D), x[:, 1:1 + kc])
        logits = self.head(self.norm(x[:, 0]))
        return CoarseOut(logits, scores, z, x0, e, block0, dropped)

    def coarse(self, img_coarse: torch.Tensor) -> CoarseOut:
        return self.coarse_from_embed(self.stem_fn(img_coarse))

    @staticmethod
    def rank_order(scores: torch.Tensor, dropped: Optional[torch.Tensor] = None) -> torch.Tensor:
        """[B, Gc] patch indices in rank order: patches that ran to the end before those token skipping
        dropped, then score descending, ties to the smaller index."""
        order = torch.sort(scores, dim=1, descending=True, stable=True).indices
        if dropped is not None:
            d = dropped.gather(1, order).to(torch.int8)
            order = order.gather(1, torch.sort(d, dim=1, stable=True).indices)
        return order

    @staticmethod
    def select(scores: torch.Tensor, K: int, dropped: Optional[torch.Tensor] = None):
        """Top-K in rank order, returned ascending; plus the rest ascending."""
        order = CFViT.rank_order(scores, dropped)
        sel = torch.sort(order[:, :K], dim=1).values
        keep = torch.sort(order[:, K:], dim=1).values
        return sel, keep

    def split(self, co: CoarseOut, K: int):
        """(selected, carried, fused), each ascending: the K selected patches, the unselected ones the
        fine pass carries (the first keep_fine in rank order; all without keep_fine) and the ones its
        fused token stands for ([B, 0] when none)."""
        order = self.rank_order(co.scores, co.dropped)
        kf = order.shape[1] - K if self.keep_fine is None else min(self.keep_fine, order.shape[1] - K)
        sel = torch.sort(order[:, :K], dim=1).values
        carried = torch.sort(order[:, K:K + kf], dim=1).values
        fused = torch.sort(order[:, K + kf:], dim=1).values
        return sel, carried, fused

    def fine_tokens(self, fine_map: torch.Tensor, co: CoarseOut, sel, keep, fused=None):
        """fine_map: [B, K, D, 2, 2] stem output of the selected regions (in sel order); keep: the carried
        unselected patches, ascending; fused: the patches of the fused token (keep_fine), or None."""
        B, K = sel.shape
        D, Wc, Wf = self.D, self.Wc, self.Wf
        u = self.reuse(co.z)                                          # [B, Gc, D]
        bidx = torch.arange(B)[:, None]
        f = fine_map.reshape(B, K, D, 4).transpose(2, 3)              # [B, K, 4, D] f00 f01 f10 f11
        cy, cx = sel // Wc, sel % Wc
        ab = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
        pidx = 1 + (2 * cy[:, :, None] + ab[:, 0]) * Wf + (2 * cx[:, :, None] + ab[:, 1])  # [B,K,4]
        pos = self.pos_fine[0][pidx]                                  # [B, K, 4, D]
        ft = f + pos + u[bidx, sel][:, :, None, :]
        kt = co.x0[:, 1:][bidx, keep] + u[bidx, keep]                 # [B, Gc-K, D]
        cls = (self.cls_token + self.pos_fine[:, :1]).expand(B, -1, -1)
        parts = [cls, ft.reshape(B, 4 * K, D), kt]
        if fused is not None and fused.shape[1] > 0:                 # plain mean of their tokens
            parts.append((co.x0[:, 1:][bidx, fused] + u[bidx, fused]).mean(1, keepdim=True))
        return torch.cat(parts, 1)

    def fine_from_map(self, fine_map, co: CoarseOut, sel, keep, fused=None, tokens: bool = False):
        """Fine logits; tokens: also the final tokens [B, T, D] (cls, 4 per selected region, carried, fused)."""
        x = self.fine_tokens(fine_map, co, sel, keep, fused)
        x, _, _ = self.run_blocks(x, False)
        logits = self.head(self.norm(x[:, 0]))
        return (logits, x) if tokens else logits

    def fine(self, img_full: torch.Tensor, co: CoarseOut, K: Optional[int] = None) -> torch.Tensor:
        K = self.K if K is None else K
        sel, keep, fused = self.split(co, K)
        return self.fine_from_map(self.stem_selected(img_full, sel), co, sel, keep, fused)

    def stem_selected(self, img_full: torch.Tensor, sel: torch.Tensor) -> torch.Tensor:
        """[B, K, D, 2, 2]: the stem output of the selected regions, in sel order."""
        B, K = sel.shape
        reg = self.regions(img_full)[torch.arange(B)[:, None], sel]   # [B, K, C, 2P, 2P]
        return self.stem_fn(reg.reshape(B * K, *reg.shape[2:])).reshape(B, K, self.D, 2, 2)

    def forward(self, img_full, img_coarse, K: Optional[int] = None, tokens: bool = False):
        """Routed forward for training: returns (coarse_logits, fine_logits). In training mode the
        stem runs on the coarse image and on every region with shared BN statistics. tokens: also a dict
        of final tokens for feature distillation: z [B, Gc, D] (the coarse pass's patch tokens), fine
        [B, T, D] (the fine pass's tokens after cls: 4 per selected region f00 f01 f10 f11 in sel order,
        then the carried ones in keep order, then the fused one if any), sel, keep."""
        K = self.K if K is None else K
        B = img_full.shape[0]
        if self.training and not self.bn_frozen:
            reg = self.regions(img_full).reshape(B * self.Gc, img_full.shape[1], 2 * self.P, 2 * self.P)
            e_map, reg_map = self.stem_multi([img_coarse, reg])
            co = self.coarse_from_embed(e_map)
            co.scores = co.scores.detach()
            sel, keep, fused = self.split(co, K)
            reg_map = reg_map.reshape(B, self.Gc, self.D, 2, 2)[torch.arange(B)[:, None], sel]
        else:
            co = self.coarse(img_coarse)
            if self.training:
                co.scores = co.scores.detach()
            sel, keep, fused = self.split(co, K)
            reg_map = self.stem_selected(img_full, sel)
        out = self.fine_from_map(reg_map, co, sel, keep, fused, tokens=tokens)
        if not tokens:
            return co.logits, out
        logits, x = out
        return co.logits, logits, {"z": co.z, "fine": x[:, 1:], "sel": sel, "keep": keep}


def build_from_config(config: dict) -> CFViT:
    arch = dict(config["arch"])
    return CFViT(arch, num_classes=len(config["labels"]))


def make_config(model_name, arch, labels, good_label, inp) -> dict:
    keys = ["name", "in_chans", "img_full", "img_coarse", "patch", "stem_channels", "dim", "heads",
            "depth", "mlp_ratio", "reuse_hidden", "topk", "rank_layers", "ln_eps", "bn_eps"]
    a = {**ARCH_DEFAULTS, **arch}
    keys += [k for k in SKIP_KEYS if a.get(k) is not None]
    return {
        "format": "triage-checkpoint-config",
        "format_version": 1,
        "model_name": model_name,
        "arch": {k: a[k] for k in keys},
        "labels": list(labels),
        "good_label": good_label,
        "input": dict(inp),
    }
