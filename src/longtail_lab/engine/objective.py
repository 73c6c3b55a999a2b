"""The contract between the training loop and a method (what a paper adds).

The loop owns data, device, optimiser, schedule, checkpoints and progress. An objective turns a
batch into a loss, may replace the backward pass (e.g. gradient surgery), and may keep state that
is checkpointed with the run.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Objective:
    def loss(
        self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor, indices: torch.Tensor, epoch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (scalar loss, logits used for training accuracy)."""
        raise NotImplementedError

    def backward(self, loss: torch.Tensor, backward: Callable[[torch.Tensor], None], model: nn.Module) -> None:
        backward(loss)

    def on_epoch_end(self, epoch: int) -> None:
        """Called after the last step of every epoch, before the checkpoint is written."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def to(self, device: torch.device) -> Objective:
        return self
