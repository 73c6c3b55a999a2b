"""Plain supervised training: the model's output and a named classification loss."""

from __future__ import annotations

import torch
from torch import nn

from longtail_lab.engine.batches import LabelledBatch
from longtail_lab.engine.step import Metrics, Objective


def accuracy_metric(logits: torch.Tensor, targets: torch.Tensor) -> Metrics:
    """Training accuracy as one observation per sample (the loop averages them over the epoch)."""
    return {"train_acc": logits.detach().argmax(1) == targets}


class SupervisedObjective(Objective):
    def __init__(self, loss_fn: nn.Module) -> None:
        self.loss_fn = loss_fn

    def loss(self, model, batch: LabelledBatch, epoch):
        output = model(batch.inputs, details=True)
        return self.loss_fn(output, batch.targets), accuracy_metric(output.logits, batch.targets)

    def to(self, device: torch.device) -> SupervisedObjective:
        self.loss_fn = self.loss_fn.to(device)
        return self
