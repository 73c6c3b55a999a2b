"""Batches for the loop: in-memory arrays on the device, or files through a DataLoader with workers.

Both yield ``(images float NCHW, targets int64, indices int64)`` already on the device; ``indices``
is each sample's position in the training split (the key of per-sample method state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class DeviceArrayBatches:
    """The whole split as a uint8 tensor on the device; shuffling and augmentation batched there."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
        device: torch.device,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)
        self.batch_size = batch_size
        self.augment = augment
        self.device = device
        self.rank, self.world_size = rank, world_size
        # One generator for the order (identical on every rank), one per rank for augmentation.
        self.order_gen = torch.Generator(device=device).manual_seed(seed)
        self.aug_gen = torch.Generator(device=device).manual_seed(seed + 7919 * (rank + 1))

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def __len__(self) -> int:
        per_rank = -(-self.num_samples // self.world_size)
        return -(-per_rank // self.batch_size)

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        order = torch.randperm(self.num_samples, generator=self.order_gen, device=self.device)
        order = order[self.rank :: self.world_size]
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            if len(idx) < 2 < len(order):  # a batch of one breaks BatchNorm in train mode
                continue
            yield self.augment(self.images[idx], self.aug_gen), self.labels[idx], idx

    def state_dict(self) -> dict:
        return {"order_gen": self.order_gen.get_state(), "aug_gen": self.aug_gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.order_gen.set_state(state["order_gen"])
        self.aug_gen.set_state(state["aug_gen"])


class _Indexed(Dataset):
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        image, label = self.dataset[i]
        return image, label, i


class LoaderBatches:
    """Files decoded in DataLoader workers. The order of epoch ``e`` depends only on (seed, e), so a
    resumed run sees the same batches; under DDP each rank takes every ``world_size``-th sample."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        device: torch.device,
        seed: int,
        workers: int = 4,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.dataset = _Indexed(dataset)
        self.batch_size, self.device, self.seed, self.workers = batch_size, device, seed, workers
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        per_rank = -(-len(self.dataset) // self.world_size)
        return -(-per_rank // self.batch_size)

    def epoch(self, epoch: int):
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(len(self.dataset), generator=gen)[self.rank :: self.world_size].tolist()
        loader = DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            sampler=order,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            generator=gen,  # seeds the workers' augmentation RNG
        )
        for images, labels, idx in loader:
            yield (
                images.to(self.device, non_blocking=True),
                labels.to(self.device, non_blocking=True),
                idx.to(self.device, non_blocking=True),
            )

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
