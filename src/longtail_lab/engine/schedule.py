"""SGD with linear warm-up and multistep or cosine decay, stepped once per epoch."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

SCHEDULES = ("multistep", "cosine", "constant")


def lr_factor(
    epoch: int,
    epochs: int,
    warmup_epochs: int,
    schedule: str,
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
) -> float:
    """Multiplier of the base lr in (0-based) ``epoch``.

    Warm-up: (1 + epoch) / warmup_epochs (the SADE/LTRL ``CustomLR``); multistep: gamma ** (number of
    milestones <= epoch); cosine: half a cosine from the end of warm-up to ``epochs``.
    """
    if schedule not in SCHEDULES:  # checked before the warm-up branch so a typo fails at epoch 0
        raise ValueError(f"parameter 'train.schedule': unknown schedule {schedule!r} (multistep, cosine, constant)")
    if epoch < warmup_epochs:
        return (1 + epoch) / warmup_epochs
    if schedule == "multistep":
        return gamma ** sum(epoch >= m for m in milestones)
    if schedule == "cosine":
        span = max(epochs - warmup_epochs, 1)
        return 0.5 * (1 + math.cos(math.pi * (epoch - warmup_epochs) / span))
    return 1.0  # constant


def build_optimizer(params, lr: float, momentum: float, nesterov: bool, weight_decay: float):
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)


def build_scheduler(optimizer, epochs, warmup_epochs, schedule, milestones, gamma):
    # LambdaLR evaluates epoch 0 on construction, so an unknown schedule name fails here, before training.
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: lr_factor(e, epochs, warmup_epochs, schedule, milestones, gamma)
    )
