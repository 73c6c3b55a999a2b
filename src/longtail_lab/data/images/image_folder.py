"""Image-folder datasets: ``<root>/<train|test>/<class>/<image>``, class order = sorted folder names."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from longtail_lab.data.images.arrays import TrainTest
from longtail_lab.data.images.files import ImageFiles
from longtail_lab.errors import DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def list_image_folder(root: Path, part: str, classes: tuple[str, ...] | None = None):
    """(relative paths, labels, classes) of ``root/part/<class>/*`` in sorted order."""
    base = root / part
    if not base.is_dir():
        raise DataError(f"{base}: image folder missing (expected <root>/{part}/<class>/<image>)")
    found = tuple(sorted(p.name for p in base.iterdir() if p.is_dir()))
    classes = classes or found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise DataError(f"{base}: class folders {unknown} are not among the training classes")
    items, labels = [], []
    for label, name in enumerate(classes):
        folder = base / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                items.append(f"{part}/{name}/{path.name}")
                labels.append(label)
    if not items:
        raise DataError(f"{base}: no images found")
    return items, np.asarray(labels, dtype=np.int64), classes


def read_image_folder(root: str | Path, name: str = "image_folder", in_memory: bool = True) -> TrainTest:
    """The train and test parts of an image folder: decoded into memory, or (``in_memory=False``) listed only,
    as ``ImageFiles`` that the training and prediction loops decode in DataLoader workers."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{name}: raw data missing: {root} does not exist. Put images in <root>/train/<class>/ and "
            f"<root>/test/<class>/ (e.g. extract cifar10-jpg.tar.gz there)."
        )
    parts = {}
    classes = None
    for part in ("train", "test"):
        items, labels, classes = list_image_folder(root, part, classes)
        files = ImageFiles(root, labels, classes, tuple(items))
        parts[part] = files.decode() if in_memory else files
    return TrainTest(name, parts["train"], parts["test"])
