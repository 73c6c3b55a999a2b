"""What a classifier returns when a method asks for more than logits: ``model(x, details=True)``."""

from __future__ import annotations

from typing import NamedTuple

import torch


class ModelOutput(NamedTuple):
    logits: torch.Tensor  # [B, C]: what a plain prediction uses (the mean of the experts' logits)
    expert_logits: torch.Tensor  # [E, B, C]: one row per expert (E = 1 for single models)
    features: torch.Tensor  # [B, D]: pooled penultimate feature, averaged over experts
