"""Plain supervised training: the model's output and a named classification loss."""

from __future__ import annotations

import torch
from torch import nn

from longtail_lab.engine.step import Objective


class SupervisedObjective(Objective):
    def __init__(self, loss_fn: nn.Module) -> None:
        self.loss_fn = loss_fn

    def loss(self, model, images, targets, indices, epoch):
        output = model(images, details=True)
        return self.loss_fn(output, targets), output.logits

    def to(self, device: torch.device) -> SupervisedObjective:
        self.loss_fn = self.loss_fn.to(device)
        return self
