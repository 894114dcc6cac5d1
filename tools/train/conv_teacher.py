"""The adc-sem teacher: a convolutional network whose first layers are the student's tokenizer.

Why a CNN and not a deeper cfvit: on this 2-core machine a ViT trained from scratch stays at the
class prior for the first ~10k images (measured: depth-12 cfvit, loss 3.49 vs 3.55 at the prior after
7k images), while a CNN's locality prior finds few-pixel defects far sooner; DeiT's distillation
result (a convnet teacher for a ViT student) says this is also the better teacher.

Layout: stem (ConvBN 1->24 s2, ConvBN 24->48 s2: the exact shapes and names of model.CFViT.stem),
patch (conv 48->192, 4x4 stride 4: CFViT.patch), then residual 3x3 conv blocks at token resolution
(14x14 at 224 px, 7x7 at 112 px) and a head on [mean, max] pooling (max: one small defect decides).
The student copies stem.* and patch.*, so its tokens start out as features that already see defects.
Runs on both resolutions: forward(full, coarse) -> (coarse logits, full logits), like CFViT.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from model import ConvBN


class ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False); self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False); self.b2 = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.b2(self.c2(F.relu(self.b1(self.c1(x))))))


class ConvTeacher(nn.Module):
    def __init__(self, arch: dict, num_classes: int, width: int = 256, blocks: int = 3):
        super().__init__()
        c1, c2 = arch["stem_channels"]
        D, P = arch["dim"], arch["patch"]
        self.stem = nn.Sequential(ConvBN(arch["in_chans"], c1, arch["bn_eps"]), ConvBN(c1, c2, arch["bn_eps"]))
        self.patch = nn.Conv2d(c2, D, P // 4, stride=P // 4)
        self.proj = nn.Sequential(nn.BatchNorm2d(D), nn.ReLU(), nn.Conv2d(D, width, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        self.body = nn.Sequential(*[ResBlock(width) for _ in range(blocks)])
        self.head = nn.Linear(2 * width, num_classes)

    def stem_out(self, x):
        for layer in self.stem:
            x = F.relu(layer.bn(layer.conv(x)))
        return x

    def logits(self, img):
        z = self.body(self.proj(self.patch(self.stem_out(img))))
        return self.head(torch.cat([z.mean((2, 3)), z.amax((2, 3))], 1))

    def forward(self, img_full, img_coarse, K=None):
        return self.logits(img_coarse), self.logits(img_full)

    @torch.no_grad()
    def soft_target(self, img_full, img_coarse):
        """Soft labels for the student: the full-resolution prediction."""
        return F.softmax(self.logits(img_full), -1)


def transfer_tokenizer(teacher: ConvTeacher, student) -> None:
    """Copy the stem (conv + BN affine) and patch projection into a CFViT student."""
    sd = {k: v for k, v in teacher.state_dict().items() if k.startswith(("stem.", "patch."))}
    missing = set(sd) - set(student.state_dict())
    assert not missing, missing
    student.load_state_dict(sd, strict=False)
