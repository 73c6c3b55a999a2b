"""SADE's diverse-expert loss (Zhang et al., NeurIPS 2022): one training-prior expert per test prior.

Expert 1 learns the long-tailed prior (plain CE), expert 2 the uniform prior (balanced softmax),
expert 3 an inverse prior: CE(softmax(v3 + log pi - tau * log pi_inv)). ``pi_inv`` is *not* 1/pi but
the prior values permuted so that the frequency ranking is reversed (the most frequent class gets the
smallest value), as in the reference.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from longtail_lab.methods.losses import as_output, soft_cross_entropy


def inverse_prior(class_counts) -> torch.Tensor:
    """The prior values re-assigned in reversed frequency order (stable for ties: lower class id first)."""
    counts = np.asarray(class_counts, dtype=np.float64)
    prior = counts / counts.sum()
    ascending = np.argsort(prior, kind="stable")  # class ids, rarest first
    rank = np.empty_like(ascending)
    rank[ascending] = np.arange(len(prior))  # rank of each class in ascending order
    sorted_values = prior[ascending]
    return torch.from_numpy(sorted_values[len(prior) - 1 - rank]).float()


def expert_adjustments(class_counts, tau: float = 2.0) -> torch.Tensor:
    """[3, C] logit offsets of the three experts' training losses: 0, log pi, log pi - tau log pi_inv."""
    counts = np.asarray(class_counts, dtype=np.float64)
    log_pi = torch.from_numpy(np.log(counts / counts.sum() + 1e-9)).float()
    log_inv = torch.log(inverse_prior(counts).double() + 1e-9).float()
    return torch.stack([torch.zeros_like(log_pi), log_pi, log_pi - tau * log_inv])


class DiverseExpertLoss(nn.Module):
    """Sum over the three experts of CE(expert logits + its prior adjustment, target); targets may be soft."""

    review_scale = 3.0  # LTRL's DiverseExpertLoss_RL multiplies the review (KL) term by 3

    def __init__(self, class_counts, tau: float = 2.0) -> None:
        super().__init__()
        if tau < 0:
            raise ValueError(f"parameter 'sade.tau' must be >= 0, got {tau}")
        self.tau = float(tau)
        self.register_buffer("adjustments", expert_adjustments(class_counts, tau))

    def forward(self, output, targets: torch.Tensor) -> torch.Tensor:
        experts = as_output(output).expert_logits.float()  # [E, B, C]
        if experts.shape[0] != self.adjustments.shape[0]:
            raise ValueError(
                f"the SADE loss needs a {self.adjustments.shape[0]}-expert model (model.name: resnet32_experts), "
                f"got {experts.shape[0]} expert(s)"
            )
        adjusted = experts + self.adjustments[:, None, :]
        if targets.dtype.is_floating_point:
            return soft_cross_entropy(adjusted.flatten(0, 1), targets.repeat(len(adjusted), 1)) * len(adjusted)
        return soft_cross_entropy(adjusted.flatten(0, 1), targets.repeat(len(adjusted))) * len(adjusted)
