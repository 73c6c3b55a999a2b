"""File-backed image datasets: images decoded lazily, one per ``__getitem__``, in DataLoader workers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from longtail_lab.data.images.arrays import ImageArrays, LabelledItems
from longtail_lab.data.lists.format import LabelList, resolve_paths
from longtail_lab.errors import DataError


def decode_rgb(path: Path) -> np.ndarray:
    """One image as uint8 [H, W, 3] (PIL, converted to RGB); a failure names the file."""
    try:
        with Image.open(path) as img:
            return np.array(img.convert("RGB"), dtype=np.uint8)  # a writable copy (torch.from_numpy)
    except Exception as exc:
        raise DataError(f"{path}: cannot decode image ({exc})") from exc


def decode_images(paths: list[Path], workers: int = 4) -> np.ndarray:
    """Decode same-sized images into one uint8 [N, H, W, 3] array (PIL releases the GIL while decoding)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        arrays = list(pool.map(decode_rgb, paths, chunksize=256))
    if not arrays:
        return np.zeros((0, 1, 1, 3), dtype=np.uint8)
    shape = arrays[0].shape
    for path, arr in zip(paths, arrays, strict=True):
        if arr.shape != shape:
            raise DataError(f"{path}: size {arr.shape[:2]} differs from {shape[:2]}; in-memory folders need one size")
    return np.stack(arrays)


@dataclass(frozen=True)
class ImageFiles(LabelledItems):
    """A split whose images stay on disk: ``items`` are paths relative to ``root`` (an image folder read with
    ``in_memory: false``). Same labels, classes and item names as the :class:`ImageArrays` of the same folder."""

    root: Path
    labels: np.ndarray
    classes: tuple[str, ...]
    items: tuple[str, ...]

    def subset(self, indices: np.ndarray) -> ImageFiles:
        indices = np.asarray(indices, dtype=np.int64)
        return ImageFiles(self.root, self.labels[indices], self.classes, tuple(self.items[i] for i in indices))

    @property
    def paths(self) -> list[Path]:
        return [self.root / item for item in self.items]

    def dataset(self, transform=None) -> FileImageDataset:
        """The torch dataset that decodes these images in DataLoader workers."""
        return FileImageDataset(self.paths, self.labels, transform)

    def decode(self, workers: int = 4) -> ImageArrays:
        """All images in memory (what ``in_memory: true`` reads)."""
        return ImageArrays(decode_images(self.paths, workers), self.labels, self.classes, self.items)


class FileImageDataset(Dataset):
    """``(image, label)`` per path: a uint8 [H, W, 3] tensor decoded exactly as the in-memory reader decodes it
    (so file-backed and in-memory runs see the same pixels), or ``transform(PIL image)`` when one is given.
    Random augmentation belongs on the device (``DeviceAugment`` in ``LoaderBatches``), whose generator is
    checkpointed; a worker ``transform`` should be deterministic (decode, resize) for exact resume."""

    def __init__(self, paths: list[Path], labels: np.ndarray, transform=None) -> None:
        self.paths = list(paths)
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        if self.transform is None:
            return torch.from_numpy(decode_rgb(self.paths[i])), self.labels[i]
        with Image.open(self.paths[i]) as img:
            image = img.convert("RGB")
        return self.transform(image), self.labels[i]


class ListImageDataset(FileImageDataset):
    """Images named by a list file under ``root``; paths are validated up front (a missing image is an error
    naming its line), decoded on access."""

    def __init__(
        self,
        root: str | Path,
        lst: LabelList,
        transform=None,
        source: str = "<list>",
        check_exists: bool = True,
    ) -> None:
        super().__init__(resolve_paths(root, lst, source, check_exists), lst.labels, transform)
