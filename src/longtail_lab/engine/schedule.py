"""Optimisers by name over parameter groups, and learning-rate schedules stepped per epoch or per step.

Schedules (a multiplier of each group's lr): linear warm-up, then ``multistep``, ``cosine``, ``poly`` or
``constant``. With ``interval: step`` the same shapes are evaluated per optimiser step: the run is
``epochs * steps_per_epoch`` steps long and warm-up and milestones are scaled by ``steps_per_epoch``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

SCHEDULES = ("multistep", "cosine", "poly", "constant")
OPTIMIZERS = ("sgd", "adam", "adamw")


def lr_factor(
    t: int,
    total: int,
    warmup: int,
    schedule: str,
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    power: float = 0.9,
) -> float:
    """Multiplier of the base lr at (0-based) position ``t`` of a run of ``total`` epochs or steps.

    Warm-up: (1 + t) / warmup (the SADE/LTRL ``CustomLR``); multistep: gamma ** (number of milestones <= t);
    cosine: half a cosine from the end of warm-up to ``total``; poly: (1 - progress) ** power over the same span
    (DeepLab / STAL's per-iteration schedule).
    """
    if schedule not in SCHEDULES:  # checked before the warm-up branch so a typo fails at epoch 0
        raise ValueError(f"parameter 'train.schedule': unknown schedule {schedule!r} ({', '.join(SCHEDULES)})")
    if t < warmup:
        return (1 + t) / warmup
    if schedule == "multistep":
        return gamma ** sum(t >= m for m in milestones)
    span = max(total - warmup, 1)
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * (t - warmup) / span))
    if schedule == "poly":
        return max(1.0 - (t - warmup) / span, 0.0) ** power
    return 1.0  # constant


def check_param_groups(module: torch.nn.Module, groups: list[dict]) -> None:
    """Every trainable parameter of ``module`` in exactly one group: a group list that forgets one would leave it
    untrained without a word."""
    counts: dict[int, int] = {}
    for group in groups:
        for param in group["params"]:
            counts[id(param)] = counts.get(id(param), 0) + 1
    missing = [n for n, p in module.named_parameters() if p.requires_grad and id(p) not in counts]
    twice = [n for n, p in module.named_parameters() if counts.get(id(p), 0) > 1]
    if missing or twice:
        raise ValueError(
            f"the declared parameter groups leave out {missing or 'none'} and repeat {twice or 'none'}; "
            f"every trainable parameter must be in exactly one group"
        )


def build_optimizer(cfg, groups: list[dict]) -> torch.optim.Optimizer:
    """``cfg.optimizer`` (sgd, adam, adamw) over ``groups``: each group's lr is ``cfg.lr * lr_mult`` (default 1)
    and its weight decay ``cfg.weight_decay`` unless the group sets its own."""
    param_groups = []
    for group in groups:
        group = dict(group)
        mult = group.pop("lr_mult", 1.0)
        param_groups.append({**group, "lr": cfg.lr * mult})
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            param_groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    if cfg.optimizer in ("adam", "adamw"):
        kind = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
        return kind(param_groups, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    raise ValueError(f"parameter 'train.optimizer': unknown optimiser {cfg.optimizer!r} ({', '.join(OPTIMIZERS)})")


def build_scheduler(optimizer, cfg, steps_per_epoch: int = 1) -> torch.optim.lr_scheduler.LambdaLR:
    """The schedule of ``cfg`` as a ``LambdaLR``; the loop steps it per epoch or (``cfg.interval == 'step'``)
    after every optimiser step. Each group keeps its lr multiplier (LambdaLR scales each group's initial lr)."""
    per = steps_per_epoch if cfg.interval == "step" else 1
    total, warmup = cfg.epochs * per, cfg.warmup_epochs * per
    milestones = tuple(m * per for m in cfg.milestone_epochs())
    # LambdaLR evaluates t = 0 on construction, so an unknown schedule name fails here, before training.
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: lr_factor(t, total, warmup, cfg.schedule, milestones, cfg.gamma, cfg.power)
    )
