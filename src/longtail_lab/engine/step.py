"""The step contract between the training loop and a method (what a paper adds).

The loop owns data, device, optimiser, schedule, checkpoints and progress. It hands the objective each
batch as the batch source made it (an opaque object; the objective unpacks it) and asks for a loss and a
dict of metrics. An objective may replace the backward pass (e.g. gradient surgery), declare parameter groups
(e.g. a backbone at lr x1 and a decoder at lr x10), act after every optimiser step (e.g. an EMA teacher) and
after every epoch, and keep state that is checkpointed with the run. The loop hands it a ``StepContext`` for
the few things that depend on how the run is launched (one process or DDP ranks, precision).

Metrics are detached tensors the loop sums on the device (no host sync per step) and records as epoch means
in the history:

- a scalar is a batch mean, weighted by the batch's size (``len(batch)``), like the loss;
- any other tensor holds observations (e.g. one bool per sample or per labelled pixel), whose epoch value is
  the mean of all observations of the epoch (summed in float64, so counts stay exact).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

Metrics = dict[str, torch.Tensor]


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
    # keys of ``epoch_metrics`` shown in the end-of-epoch log line (all are kept in the history)
    shown_epoch_metrics: tuple[str, ...] = ()

    def loss(self, model: nn.Module, batch: Any, epoch: int) -> tuple[torch.Tensor, Metrics]:
        """Return (scalar loss, metrics of the batch: detached tensors, see the module docstring)."""
        raise NotImplementedError

    def backward(self, loss: torch.Tensor, ctx: StepContext, model: nn.Module) -> None:
        """Fill ``param.grad`` for the optimiser step; the default is plain backpropagation of ``loss``."""
        ctx.backward(loss)

    def param_groups(self, model: nn.Module) -> list[dict]:
        """The optimiser's parameter groups: dicts with ``params`` and optionally ``lr_mult`` (a multiplier of
        ``train.lr``) and ``weight_decay``. The default asks the model (a ``param_groups()`` method, e.g. a
        segmentation network's backbone and decoder) and otherwise trains every parameter in one group."""
        declared = getattr(model, "param_groups", None)
        return list(declared()) if callable(declared) else [{"params": list(model.parameters())}]

    def on_step_end(self, step: int, epoch: int, model: nn.Module, ctx: StepContext) -> None:
        """Called after every ``optimizer.step()`` (and the per-step schedule), with the run's 0-based global
        step and epoch; e.g. an EMA teacher's update. State it keeps belongs in ``state_dict``."""

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


class MetricSums:
    """Running sums of an epoch's metrics on the device: ``add`` every step (no host sync), ``means`` once."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, metrics: Metrics, batch_size: int) -> None:
        for key, value in metrics.items():
            value = value.detach()
            if value.ndim == 0:  # a batch mean: weighted by the batch size, float32 like the loss
                total, count = value.float() * batch_size, batch_size
            else:  # observations: their sum (float64 keeps counts exact beyond 2**24) and their number
                total, count = value.sum(dtype=torch.float64), value.numel()
            if key in self.sums:
                self.sums[key] += total
                self.counts[key] += count
            else:
                self.sums[key], self.counts[key] = total.clone(), count

    def means(self) -> dict[str, float]:
        """Epoch means as Python floats (one host sync per metric)."""
        return {key: self.sums[key].item() / max(self.counts[key], 1) for key in self.sums}
