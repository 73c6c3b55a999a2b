"""Image-folder datasets: ``<root>/<train|test>/<class>/<image>``, class order = sorted folder names."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from longtail_lab.data.images.arrays import ImageArrays, TrainTest
from longtail_lab.errors import DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def _decode(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception as exc:
        raise DataError(f"{path}: cannot decode image ({exc})") from exc


def decode_images(paths: list[Path], workers: int = 4) -> np.ndarray:
    """Decode same-sized images into one uint8 [N, H, W, 3] array (PIL releases the GIL while decoding)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        arrays = list(pool.map(_decode, paths, chunksize=256))
    if not arrays:
        return np.zeros((0, 1, 1, 3), dtype=np.uint8)
    shape = arrays[0].shape
    for path, arr in zip(paths, arrays, strict=True):
        if arr.shape != shape:
            raise DataError(f"{path}: size {arr.shape[:2]} differs from {shape[:2]}; in-memory folders need one size")
    return np.stack(arrays)


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


def read_image_folder(root: str | Path, name: str = "image_folder") -> TrainTest:
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
        images = decode_images([root / item for item in items])
        parts[part] = ImageArrays(images, labels, classes, tuple(items))
    return TrainTest(name, parts["train"], parts["test"])
