"""Plain supervised training: logits = model(images), loss = a named classification loss."""

from __future__ import annotations

import torch
from torch import nn

from longtail_lab.engine.objective import Objective


class SupervisedObjective(Objective):
    def __init__(self, loss_fn: nn.Module) -> None:
        self.loss_fn = loss_fn

    def loss(self, model, images, targets, indices, epoch):
        logits = model(images)
        return self.loss_fn(logits.float(), targets), logits

    def to(self, device: torch.device) -> SupervisedObjective:
        self.loss_fn = self.loss_fn.to(device)
        return self
