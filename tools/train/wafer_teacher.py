"""The awc-wm811k teacher: a residual CNN on whole wafer maps (stage 1 of the staged pipeline).

Why a CNN: on 2 cores a CNN's locality prior learns wafer failure patterns from a few thousand maps far
sooner than a ViT trained from scratch (DeiT: a convnet is also the better teacher for a ViT student).
Layout: a 3x3 stride-2 stem, then three stages (stride 2 each, one residual block per stage), a head on
[mean, max] pooling (max: one small Loc/Scratch region decides). Input: one full-resolution map,
preprocessed exactly as the student's fine pass sees it (train_awc_staged.prep_batch).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from conv_teacher import ResBlock  # the same residual 3x3 block as the adc-sem teacher


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class WaferCNN(nn.Module):
    def __init__(self, num_classes: int, widths=(32, 64, 128, 192), dropout: float = 0.2):
        super().__init__()
        w0, *ws = widths
        layers = [ConvBNReLU(1, w0, 2)]
        cin = w0
        for w in ws:
            layers += [ConvBNReLU(cin, w, 2), ResBlock(w)]
            cin = w
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * cin, num_classes)

    def forward(self, x):
        z = self.body(x)
        return self.head(self.drop(torch.cat([z.mean((2, 3)), z.amax((2, 3))], 1)))
