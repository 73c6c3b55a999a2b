"""Classification losses by name: ``build_loss(name, class_counts, **options)`` -> ``loss(output, targets)``.

``output`` is a model's logits [B, C] or its ``ModelOutput`` (multi-expert losses need the latter);
``targets`` are class ids [B] or soft label rows [B, C] (reflective learning's knowledge summary).
Add a loss: a class here (or in its own small module) and one line in ``LOSSES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from longtail_lab.models.outputs import ModelOutput
from longtail_lab.params import Bounds, Problems, check_kwargs


def as_output(output: torch.Tensor | ModelOutput) -> ModelOutput:
    """Plain logits as a one-expert ``ModelOutput`` (no features)."""
    if isinstance(output, ModelOutput):
        return output
    return ModelOutput(output, output.unsqueeze(0), None)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against class ids [B] or probability rows [B, C], averaged over the batch.

    Uses ``log_softmax`` (LTRL's ``log(softmax(.))`` underflows to -inf for large logits).
    """
    logits = logits.float()
    if targets.dtype.is_floating_point:
        return -(targets * F.log_softmax(logits, dim=-1)).sum(-1).mean()
    return F.cross_entropy(logits, targets)


def log_prior(class_counts) -> torch.Tensor:
    """log(n_c / sum n + 1e-9), the reference's training-prior adjustment."""
    counts = torch.as_tensor(np.asarray(class_counts), dtype=torch.float64)
    return torch.log(counts / counts.sum() + 1e-9).float()


class CrossEntropy(nn.Module):
    # Weight of reflective learning's review term, in units of T^2 (LTRL: 1 for single-model losses).
    review_scale = 1.0

    def forward(self, output, targets: torch.Tensor) -> torch.Tensor:
        return soft_cross_entropy(as_output(output).logits, targets)


class BalancedSoftmax(nn.Module):
    """Balanced Softmax (Ren et al. 2020): CE(softmax(z + log n_c), y); raw z at test time."""

    review_scale = 1.0

    def __init__(self, class_counts) -> None:
        super().__init__()
        self.register_buffer("log_prior", log_prior(class_counts))

    def forward(self, output, targets: torch.Tensor) -> torch.Tensor:
        return soft_cross_entropy(as_output(output).logits.float() + self.log_prior, targets)


def _diverse_experts(class_counts, tau: Annotated[float, Bounds(ge=0)] = 2.0):
    from longtail_lab.methods.sade import DiverseExpertLoss  # sade builds on this module

    return DiverseExpertLoss(class_counts, tau)


LOSSES: dict[str, Callable[..., nn.Module]] = {
    "ce": lambda class_counts: CrossEntropy(),
    "balanced_softmax": BalancedSoftmax,
    "bsce": BalancedSoftmax,  # the LTRL/SADE papers' name for balanced softmax
    "sade": _diverse_experts,
}


def check_loss_options(name: str, options: Mapping | None, prefix: str, problems: Problems) -> dict | None:
    """``options`` checked against the keyword arguments of loss ``name`` (``prefix`` names them in messages)."""
    return check_kwargs(LOSSES[name], options, prefix, problems, ("class_counts",))


def build_loss(name: str, class_counts, param: str = "loss", **options) -> nn.Module:
    """``param`` is the parameter name that selected the loss (it appears in the error message)."""
    if name not in LOSSES:
        raise ValueError(f"parameter '{param}': unknown loss {name!r}; known: {sorted(LOSSES)}")
    try:
        return LOSSES[name](class_counts, **options)
    except TypeError as exc:
        raise ValueError(f"parameter '{param}': loss {name!r} does not take options {sorted(options)}") from exc
