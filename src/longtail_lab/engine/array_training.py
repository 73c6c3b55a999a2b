"""Train on an in-memory ``ImageArrays`` split: data on the device, augmentation batched there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from longtail_lab.data.arrays import ImageArrays
from longtail_lab.data.augment import DeviceAugment
from longtail_lab.engine.checkpoint import RunCheckpoints
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.loaders import DeviceArrayBatches
from longtail_lab.engine.objective import Objective
from longtail_lab.engine.trainer import FitResult, fit

AUGMENT_KEYS = {"padding", "autoaugment", "autoaugment_groups", "cutout", "mean", "std"}


def build_augment(params: dict) -> DeviceAugment:
    unknown = sorted(set(params) - AUGMENT_KEYS)
    if unknown:
        raise ValueError(f"parameter 'augment.{unknown[0]}' is unknown; known: {sorted(AUGMENT_KEYS)}")
    return DeviceAugment(**params)


@dataclass
class ArrayBatchesFactory:
    """Picklable ``make_batches`` (DDP spawns workers and pickles what they need)."""

    train: ImageArrays
    batch_size: int
    augment: DeviceAugment
    seed: int

    def __call__(self, device: torch.device, rank: int, world_size: int) -> DeviceArrayBatches:
        return DeviceArrayBatches(
            self.train.images, self.train.labels, self.batch_size, self.augment, device, self.seed, rank, world_size
        )


def fit_arrays(
    train: ImageArrays,
    make_model: Callable[[], nn.Module],
    objective: Objective,
    augment: dict,
    cfg: TrainConfig,
    signature: dict,
    store: RunCheckpoints | None = None,
    fingerprint: str | None = None,
) -> FitResult:
    """``make_model`` must be picklable (e.g. a ``functools.partial``) when ``cfg.devices > 1``."""
    make_batches = ArrayBatchesFactory(train, cfg.batch_size, build_augment(augment), cfg.seed)
    return fit(make_model, make_batches, objective, cfg, signature, store, fingerprint)
