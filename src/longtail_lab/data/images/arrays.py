"""Image classification splits: labelled items, and the in-memory form (uint8 arrays) the engine consumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from longtail_lab.errors import DataError


class LabelledItems:
    """What an image split is without its pixels: ``labels``, ``classes`` and ``items`` (one name per row).
    Shared by :class:`ImageArrays` (decoded, in memory) and ``ImageFiles`` (decoded on access)."""

    labels: np.ndarray
    classes: tuple[str, ...]
    items: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.num_classes)

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.items)}

    def indices_of(self, items: Sequence[str], source: str = "list") -> np.ndarray:
        """Row index of every item name; an unknown name is an error that names its position."""
        out = np.empty(len(items), dtype=np.int64)
        for pos, name in enumerate(items):
            row = self._row_of.get(name)
            if row is None:
                raise DataError(f"{source}, entry {pos + 1}: item {name!r} is not in the dataset")
            out[pos] = row
        return out


@dataclass(frozen=True)
class ImageArrays(LabelledItems):
    """``images`` uint8 [N, H, W, 3]; ``labels`` int64 [N]; ``items`` names each row.

    ``items`` is what a list file stores for a row: the index into the official array for CIFAR
    pickles, the path relative to the dataset root for file datasets.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    items: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise DataError(f"images must be uint8 [N, H, W, 3], got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise DataError(f"{len(self.images)} images but labels have shape {self.labels.shape}")
        if not self.items:
            object.__setattr__(self, "items", tuple(str(i) for i in range(len(self.images))))
        if len(self.items) != len(self.images):
            raise DataError(f"{len(self.images)} images but {len(self.items)} item names")

    def subset(self, indices: np.ndarray) -> ImageArrays:
        indices = np.asarray(indices, dtype=np.int64)
        return ImageArrays(
            self.images[indices], self.labels[indices], self.classes, tuple(self.items[i] for i in indices)
        )


@dataclass(frozen=True)
class TrainTest:
    """A dataset's official train and test parts."""

    name: str
    train: LabelledItems  # ImageArrays, or ImageFiles for a dataset read with ``in_memory: false``
    test: LabelledItems
