"""Train on an in-memory ``ImageArrays`` split: data on the device, augmentation batched there."""

from __future__ import annotations

from collections.abc import Callable

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
    transform = build_augment(augment)

    def make_batches(device, rank, world_size):
        return DeviceArrayBatches(
            train.images, train.labels, cfg.batch_size, transform, device, cfg.seed, rank, world_size
        )

    return fit(make_model, make_batches, objective, cfg, signature, store, fingerprint)
