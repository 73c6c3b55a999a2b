"""File-backed image datasets: images decoded lazily, one per ``__getitem__``, in DataLoader workers."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from longtail_lab.data.lists.format import LabelList, resolve_paths


class ListImageDataset(Dataset):
    """Images named by a list file under ``root``; paths are validated up front, decoded on access."""

    def __init__(
        self,
        root: str | Path,
        lst: LabelList,
        transform=None,
        source: str = "<list>",
        check_exists: bool = True,
    ) -> None:
        self.paths = resolve_paths(root, lst, source, check_exists)
        self.labels = torch.as_tensor(lst.labels, dtype=torch.int64)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        with Image.open(self.paths[i]) as img:
            image = img.convert("RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[i]
