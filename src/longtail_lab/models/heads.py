"""Classifier heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NormedLinear(nn.Module):
    """Cosine classifier: scale * <x/|x|, w_c/|w_c|> (LDAM-DRW / SADE ``NormedLinear``, weight [d, C])."""

    def __init__(self, in_features: int, out_features: int, scale: float = 30.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.weight.data.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)


def classifier(in_features: int, num_classes: int, normed: bool, scale: float) -> nn.Module:
    return NormedLinear(in_features, num_classes, scale) if normed else nn.Linear(in_features, num_classes)
