"""Tiny datasets in the official formats, written by the tests themselves."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from longtail_lab.data.images.arrays import ImageArrays
from longtail_lab.data.images.cifar import write_cifar_layout

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def synthetic_images(labels: np.ndarray, num_classes: int, seed: int) -> np.ndarray:
    """32x32 RGB images whose class is visible: a class-specific colour and stripe period, plus noise."""
    rng = np.random.default_rng(seed)
    hue = np.random.default_rng(1234).integers(40, 216, size=(num_classes, 3))
    period = 2 + np.arange(num_classes) % 7
    xs = np.arange(32)
    stripes = (xs[None, :] // period[labels][:, None]) % 2  # [N, 32]
    base = hue[labels][:, None, None, :] * (0.6 + 0.4 * stripes[:, None, :, None])
    noise = rng.normal(0, 12, size=(len(labels), 32, 32, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def tiny_cifar(num_classes: int, train_per_class: int, test_per_class: int, seed: int = 0):
    classes = tuple(f"class_{c:03d}" for c in range(num_classes))
    parts = []
    for part, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = np.repeat(np.arange(num_classes), per_class)
        np.random.default_rng(seed + len(part)).shuffle(labels)  # official batches are not class-sorted
        parts.append(ImageArrays(synthetic_images(labels, num_classes, seed + len(part)), labels, classes))
    return parts


def write_tiny_cifar100(root: Path, train_per_class: int = 30, test_per_class: int = 10) -> Path:
    train, test = tiny_cifar(100, train_per_class, test_per_class)
    return write_cifar_layout("cifar100", root, train, test)


def write_tiny_cifar10(root: Path, train_per_class: int = 30, test_per_class: int = 10) -> Path:
    train, test = tiny_cifar(10, train_per_class, test_per_class)
    return write_cifar_layout("cifar10", root, train, test)


def make_project_copy(dest: Path) -> Path:
    """A throw-away copy of the project's configuration with its own empty data folder."""
    shutil.copytree(PROJECT_ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local"))
    (dest / "conf" / "local").mkdir()
    (dest / "src").mkdir()  # bootstrap_project wants the source folder; the package itself is installed
    shutil.copy(PROJECT_ROOT / "pyproject.toml", dest / "pyproject.toml")
    for layer in ("01_raw", "02_intermediate", "03_primary", "06_models", "07_model_output", "08_reporting"):
        (dest / "data" / layer).mkdir(parents=True)
    return dest
