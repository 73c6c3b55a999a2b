"""Tiny list-file datasets in the official SADE ``data_txt`` formats, with real (decodable) images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

# Per-class training counts of the generated datasets: long-tailed, with ties (classes 2/3 and 8/9).
TRAIN_COUNTS = [40, 30, 20, 20, 14, 10, 8, 6, 5, 5, 4, 3]
NUM_CLASSES = len(TRAIN_COUNTS)
TEST_PER_CLASS = 6
VAL_PER_CLASS = 3
# namespace -> (file prefix, name of the test list, test images per class)
LAYOUTS = {
    "imagenet_lt": ("ImageNet_LT_", "test", TEST_PER_CLASS),
    "places_lt": ("Places_LT_", "test", TEST_PER_CLASS),
    "inat18_lt": ("iNaturalist18_", "val", VAL_PER_CLASS),
}


def write_pngs(root: Path, names: tuple[str, ...] = ("a/0.png", "a/1.png", "b/2.png")) -> Path:
    """Tiny black PNGs at ``root/<name>`` (folders created); returns ``root``."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(path)
    return root


def _png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 4, 3), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _lines(folder: str, per_class: list[int], rng: np.random.Generator) -> list[str]:
    lines = [f"{folder}/c{c:02d}/img_{folder}_{c}_{k}.png {c}" for c, n in enumerate(per_class) for k in range(n)]
    rng.shuffle(lines)  # official lists are not sorted by class
    return lines


def write_list_dataset(root: Path, namespace: str, seed: int = 0) -> dict[str, list[str]]:
    """``root/lists/<prefix><name>.txt`` + ``root/images/...``; returns the lines of every list."""
    prefix, test_name, per_class = LAYOUTS[namespace]
    rng = np.random.default_rng(seed)
    lists = {
        "train": _lines("train", TRAIN_COUNTS, rng),
        test_name: _lines(test_name, [per_class] * NUM_CLASSES, rng),
    }
    if test_name != "val":
        lists["val"] = _lines("val", [VAL_PER_CLASS] * NUM_CLASSES, rng)
    (root / "lists").mkdir(parents=True, exist_ok=True)
    for name, lines in lists.items():
        (root / "lists" / f"{prefix}{name}.txt").write_text("".join(f"{line}\n" for line in lines))
        for line in lines:
            path = root / "images" / line.rsplit(" ", 1)[0]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_png(int(line.rsplit(" ", 1)[1]) * 20))
    return lists


def write_all_list_datasets(project: Path) -> None:
    for namespace in LAYOUTS:
        write_list_dataset(project / "data" / "01_raw" / namespace, namespace)
