"""Classification losses by name: ``build_loss(name, class_counts)`` -> ``loss(logits, targets)``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class CrossEntropy(nn.Module):
    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets)


class BalancedSoftmax(nn.Module):
    """Balanced Softmax (Ren et al. 2020): CE(softmax(z + log n_c), y); raw z at test time."""

    def __init__(self, class_counts) -> None:
        super().__init__()
        counts = torch.as_tensor(np.asarray(class_counts), dtype=torch.float32)
        self.register_buffer("log_prior", torch.log(counts / counts.sum() + 1e-9))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits + self.log_prior.to(logits.dtype), targets)


LOSSES: dict[str, Callable[..., nn.Module]] = {
    "ce": lambda class_counts: CrossEntropy(),
    "balanced_softmax": BalancedSoftmax,
}


def build_loss(name: str, class_counts) -> nn.Module:
    if name not in LOSSES:
        raise ValueError(f"parameter 'loss': unknown loss {name!r}; known: {sorted(LOSSES)}")
    return LOSSES[name](class_counts)
