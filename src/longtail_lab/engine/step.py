"""The contract between the training loop and a method (what a paper adds).

The loop owns data, device, optimiser, schedule, checkpoints and progress. An objective turns a
batch into a loss, may replace the backward pass (e.g. gradient surgery), and may keep state that
is checkpointed with the run. The loop hands it a ``StepContext`` for the few things that depend on
how the run is launched (one process or DDP ranks, precision).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn


class StepContext:
    """What a method may ask of the loop. The default is one process; the trainer passes a Fabric one."""

    world_size: int = 1

    def __init__(self, backward: Callable[..., None] | None = None) -> None:
        self._backward = backward

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Backward through the precision plugin (loss scaling, if any) and DDP gradient reduction."""
        (self._backward or torch.Tensor.backward)(loss, **kwargs)

    def no_sync(self) -> AbstractContextManager:
        """Within this context, backward passes skip DDP's gradient all-reduce (call ``all_reduce`` yourself)."""
        return nullcontext()

    def all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        """Sum (``op='sum'``) or average (``'mean'``) ``tensor`` over ranks; identity on one process."""
        return tensor


class Objective:
    # True: the loop runs loss + backward under ``ctx.no_sync()`` and ``backward`` must all-reduce the
    # gradients itself (for gradient surgery that needs each loss's gradient separately under DDP).
    reduces_gradients_itself = False

    def loss(
        self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor, indices: torch.Tensor, epoch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (scalar loss, logits used for training accuracy)."""
        raise NotImplementedError

    def backward(self, loss: torch.Tensor, ctx: StepContext, model: nn.Module) -> None:
        """Fill ``param.grad`` for the optimiser step; the default is plain backpropagation of ``loss``."""
        ctx.backward(loss)

    def on_epoch_end(self, epoch: int, ctx: StepContext) -> None:
        """Called after the last step of every epoch on every rank, before the checkpoint is written."""

    def epoch_metrics(self) -> dict:
        """Extra numbers for the epoch's history record (called once per epoch, after ``on_epoch_end``)."""
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def to(self, device: torch.device) -> Objective:
        return self
