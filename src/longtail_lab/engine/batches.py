"""Batch sources for the loop: in-memory arrays on the device, or files through a DataLoader with workers.

A source has ``len()`` (steps per epoch), ``epoch(e)`` (that epoch's batches, on the device) and a state dict
(checkpointed, so a resumed run sees the same batches). The loop does not look inside a batch; the objective
unpacks it. Both image sources here yield a :class:`LabelledBatch`: augmented float NCHW inputs, int64 targets
and int64 indices, each sample's position in the training split (the key of per-sample method state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


@dataclass
class LabelledBatch:
    inputs: torch.Tensor
    targets: torch.Tensor
    indices: torch.Tensor

    def __len__(self) -> int:
        return len(self.targets)


class _ShuffledBatches:
    """What both image sources share: one generator for the order (identical on every rank), one per rank for
    the augmentation, both in the state dict; ``len()`` = batches of this rank's shard."""

    num_samples: int

    def __init__(self, batch_size, augment, device: torch.device, seed: int, rank: int, world_size: int) -> None:
        self.batch_size, self.augment, self.device, self.seed = batch_size, augment, device, seed
        self.rank, self.world_size = rank, world_size
        self.order_gen = torch.Generator(device=device).manual_seed(seed)
        self.aug_gen = torch.Generator(device=device).manual_seed(seed + 7919 * (rank + 1))

    def __len__(self) -> int:
        per_rank = -(-self.num_samples // self.world_size)
        return -(-per_rank // self.batch_size)

    def state_dict(self) -> dict:
        return {"order_gen": self.order_gen.get_state(), "aug_gen": self.aug_gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.order_gen.set_state(state["order_gen"])
        self.aug_gen.set_state(state["aug_gen"])


class DeviceArrayBatches(_ShuffledBatches):
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
        super().__init__(batch_size, augment, device, seed, rank, world_size)
        self.images = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def epoch(self, epoch: int) -> Iterator[LabelledBatch]:
        order = torch.randperm(self.num_samples, generator=self.order_gen, device=self.device)
        for idx in epoch_batches(order[self.rank :: self.world_size], self.batch_size):
            yield LabelledBatch(self.augment(self.images[idx], self.aug_gen), self.labels[idx], idx)


def epoch_batches(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """An epoch's order cut into batches; a batch of one sample is dropped (it breaks BatchNorm in train mode)
    unless the shard has at most two samples."""
    return [b for b in order.split(batch_size) if not len(b) < 2 < len(order)]


class _Indexed(Dataset):
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        image, label = self.dataset[i]
        return image, label, i


class _EpochSampler:
    """The batch sampler of a persistent DataLoader: yields whatever batches the current epoch set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class LoaderBatches(_ShuffledBatches):
    """Files decoded in DataLoader workers (persistent, pinned memory on CUDA), augmented on the device.

    The order and the augmentation draw from the same two generators as :class:`DeviceArrayBatches` (order
    identical on every rank, augmentation per rank; both in the state dict), so a run on the files of an image
    folder sees exactly the batches of the same run with the folder in memory, and a resumed run continues
    them. The order of epoch ``e`` depends only on (seed, e): asking for an epoch out of turn replays the draws.
    Under DDP each rank takes every ``world_size``-th sample. ``dataset[i]`` returns ``(image, label)``: uint8
    [H, W, 3] tensors when ``augment`` is given (it makes the float NCHW inputs on the device), else the
    inputs themselves.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        device: torch.device,
        seed: int,
        workers: int = 4,
        rank: int = 0,
        world_size: int = 1,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    ) -> None:
        super().__init__(batch_size, augment, device, seed, rank, world_size)
        self.dataset, self.workers = _Indexed(dataset), workers
        self.next_epoch = 0  # the epoch whose order ``order_gen`` draws next
        self._sampler = _EpochSampler()
        self._loader: DataLoader | None = None

    @property
    def num_samples(self) -> int:
        return len(self.dataset)

    def _order(self, epoch: int) -> torch.Tensor:
        if epoch < self.next_epoch:  # out of turn: replay from the seed
            self.order_gen.manual_seed(self.seed)
            self.next_epoch = 0
        while True:
            order = torch.randperm(self.num_samples, generator=self.order_gen, device=self.device)
            self.next_epoch += 1
            if self.next_epoch > epoch:
                return order[self.rank :: self.world_size]

    def _data_loader(self) -> DataLoader:
        if self._loader is None:
            self._loader = DataLoader(
                self.dataset,
                batch_sampler=self._sampler,
                num_workers=self.workers,
                pin_memory=self.device.type == "cuda",
                persistent_workers=self.workers > 0,
                # the workers' seeds come from this generator, not the global RNG, which augmentation draws from
                # (AutoAugment): a file-backed run keeps the in-memory run's random stream
                generator=torch.Generator().manual_seed(self.seed),
            )
        return self._loader

    def epoch(self, epoch: int) -> Iterator[LabelledBatch]:
        order = self._order(epoch)
        self._sampler.batches = [b.tolist() for b in epoch_batches(order, self.batch_size)]  # one sync per epoch
        for images, labels, idx in self._data_loader():
            images = images.to(self.device, non_blocking=True)
            if self.augment is not None:
                images = self.augment(images, self.aug_gen)
            yield LabelledBatch(
                images, labels.to(self.device, non_blocking=True), idx.to(self.device, non_blocking=True)
            )

    def state_dict(self) -> dict:
        return {**super().state_dict(), "next_epoch": self.next_epoch}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.next_epoch = int(state["next_epoch"])
