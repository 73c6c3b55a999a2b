"""CIFAR ResNet (He et al. 2016, the LDAM-DRW/SADE variant): 3 stages of BasicBlocks, option-A shortcuts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import nn

from longtail_lab.models.heads import classifier
from longtail_lab.models.outputs import ModelOutput
from longtail_lab.params import Bounds

# What a ``model`` parameter block may hold, checked with the full dotted key before a run (params.check_kwargs).
Widths = Annotated[tuple[int, int, int], Bounds(ge=1)]  # channels of the three stages
Blocks = Annotated[int, Bounds(ge=1)]
Scale = Annotated[float, Bounds(gt=0)]


class ShortcutA(nn.Module):
    """Parameter-free shortcut: subsample by 2 and zero-pad the new channels on both sides."""

    def __init__(self, in_planes: int, planes: int) -> None:
        super().__init__()
        self.pad = (planes - in_planes) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = ShortcutA(in_planes, planes) if stride != 1 or in_planes != planes else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def make_stage(in_planes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [BasicBlock(in_planes, planes, stride)]
    layers += [BasicBlock(planes, planes, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def init_weights(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)


class ResNetCifar(nn.Module):
    """``forward(x) -> logits``; ``forward(x, details=True) -> ModelOutput`` (one expert)."""

    num_experts = 1

    def __init__(
        self,
        num_classes: int,
        blocks: int = 5,
        widths: Sequence[int] = (16, 32, 64),
        normed_classifier: bool = False,
        scale: float = 30.0,
    ) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.conv1 = nn.Conv2d(3, w1, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w1)
        self.layer1 = make_stage(w1, w1, blocks, 1)
        self.layer2 = make_stage(w1, w2, blocks, 2)
        self.layer3 = make_stage(w2, w3, blocks, 2)
        self.fc = classifier(w3, num_classes, normed_classifier, scale)
        self.num_classes = num_classes
        init_weights(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def forward(self, x: torch.Tensor, details: bool = False) -> torch.Tensor | ModelOutput:
        features = self.features(x)
        logits = self.fc(features)
        return ModelOutput(logits, logits.unsqueeze(0), features) if details else logits


def resnet32(
    num_classes: int,
    widths: Widths = (16, 32, 64),
    normed_classifier: bool = False,
    scale: Scale = 30.0,
    blocks: Blocks = 5,
) -> ResNetCifar:
    """ResNet-32: 3 x 5 BasicBlocks (6n + 2 layers with n = 5). ``blocks`` < 5 makes the shallower ResNet-(6n+2)
    (1 = ResNet-8), for smoke runs; the papers' numbers are for 5."""
    if blocks < 1:
        raise ValueError(f"parameter 'model.blocks' must be >= 1, got {blocks}")
    return ResNetCifar(num_classes, blocks, tuple(widths), normed_classifier, scale)
