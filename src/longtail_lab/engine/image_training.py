"""Train on an image split: in memory (``ImageArrays``, the whole split on the device) or on disk (``ImageFiles``,
decoded in DataLoader workers); augmentation batched on the device either way, so both see the same batches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from longtail_lab.data.images.arrays import ImageArrays
from longtail_lab.data.images.augment import AugmentParams, DeviceAugment
from longtail_lab.data.images.files import ImageFiles
from longtail_lab.engine.batches import DeviceArrayBatches, LoaderBatches
from longtail_lab.engine.checkpoints import RunCheckpoints, fingerprint
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.step import Objective
from longtail_lab.engine.trainer import FitResult, fit

log = logging.getLogger(__name__)


def build_augment(params: AugmentParams) -> DeviceAugment:
    return DeviceAugment(**params.to_dict())


@dataclass
class ImageBatchesFactory:
    """Picklable ``make_batches`` (DDP spawns workers and pickles what they need): arrays on the device, or
    files through ``workers`` DataLoader workers."""

    train: ImageArrays | ImageFiles
    batch_size: int
    augment: DeviceAugment
    seed: int
    workers: int = 4

    def __call__(self, device: torch.device, rank: int, world_size: int) -> DeviceArrayBatches | LoaderBatches:
        if isinstance(self.train, ImageFiles):
            return LoaderBatches(
                self.train.dataset(), self.batch_size, device, self.seed, self.workers, rank, world_size, self.augment
            )
        return DeviceArrayBatches(
            self.train.images, self.train.labels, self.batch_size, self.augment, device, self.seed, rank, world_size
        )


def fit_images(
    train: ImageArrays | ImageFiles,
    make_model: Callable[[], nn.Module],
    objective: Objective,
    augment: AugmentParams,
    cfg: TrainConfig,
    signature: dict,
    store: RunCheckpoints | None = None,
    fingerprint: str | None = None,
    workers: int = 4,
) -> FitResult:
    """``make_model`` must be picklable (e.g. a ``functools.partial``) when ``cfg.devices > 1``; ``workers``:
    DataLoader workers when ``train`` is on disk."""
    make_batches = ImageBatchesFactory(train, cfg.batch_size, build_augment(augment), cfg.seed, workers)
    return fit(make_model, make_batches, objective, cfg, signature, store, fingerprint)


# Settings that change how a run is shown, how fast it goes or where it resumes, not what it computes.
NOT_IN_FINGERPRINT = ("resume", "progress", "log_every", "log_interval_s", "num_threads", "compile")


def train_split(
    train: ImageArrays | ImageFiles,
    make_model: Callable[[], nn.Module],
    signature: dict,
    objective: Objective,
    augment: AugmentParams,
    cfg: TrainConfig,
    run_key: dict,
    store: RunCheckpoints | None,
    workers: int = 4,
) -> tuple[dict, list[dict]]:
    """``fit_images`` under a fingerprint of ``run_key`` + model + augmentation + training settings.

    Returns the final checkpoint dict (weights, signature, fingerprint, class counts, stats, history)
    and the per-epoch history. A rerun of the same configuration resumes (or skips) its run.
    """
    key = fingerprint(
        {
            **run_key,
            "model": signature,
            "augment": augment.to_dict(),
            "train": cfg.fingerprint_dict(leave_out=NOT_IN_FINGERPRINT),
        }
    )
    log.info("training %s on %d images; run %s", signature["name"], len(train), key)
    with store.claim(key) if store is not None else nullcontext():
        result = fit_images(train, make_model, objective, augment, cfg, signature, store, key, workers)
    checkpoint = {
        "model": result.model_state,
        "model_signature": signature,
        "dataset": run_key.get("dataset"),
        "fingerprint": key,
        "split_sha256": run_key.get("split"),
        "class_counts": train.class_counts().tolist(),
        "stats": result.stats,
        "history": result.history,
    }
    return checkpoint, result.history
