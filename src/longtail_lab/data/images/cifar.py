"""CIFAR-10 / CIFAR-100 in the official python-pickle layout, read with a restricted unpickler."""

from __future__ import annotations

import io
import logging
import pickle
from pathlib import Path

import numpy as np

from longtail_lab.data.images.arrays import ImageArrays, TrainTest
from longtail_lab.errors import DataError

log = logging.getLogger(__name__)

CIFAR_LAYOUTS = {
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "meta": "batches.meta",
        "label_key": "labels",
        "names_key": "label_names",
    },
    "cifar100": {
        "folder": "cifar-100-python",
        "train": ["train"],
        "test": ["test"],
        "meta": "meta",
        "label_key": "fine_labels",
        "names_key": "fine_label_names",
    },
}

# What the official batches reference besides builtin containers: numpy array reconstruction.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a dataset pickle")


def restricted_load(path: Path) -> object:
    """Unpickle ``path`` allowing only builtin containers and numpy arrays (latin1 strings)."""
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(io.BufferedReader(f), encoding="latin1").load()
    except FileNotFoundError:
        raise
    except Exception as exc:  # truncated, corrupt or hostile pickles all end here
        raise DataError(f"{path}: not a readable dataset pickle ({type(exc).__name__}: {exc})") from exc


def _read_batches(folder: Path, names: list[str], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for name in names:
        path = folder / name
        batch = restricted_load(path)
        if not isinstance(batch, dict) or "data" not in batch or label_key not in batch:
            raise DataError(f"{path}: expected a dict with 'data' and '{label_key}'")
        data = np.asarray(batch["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072 or len(batch[label_key]) != len(data):
            raise DataError(f"{path}: 'data' must be N x 3072 with one label per row, got {data.shape}")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch[label_key], dtype=np.int64))
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def read_cifar(name: str, root: str | Path, download: bool = False) -> TrainTest:
    """Read ``<root>/<official folder>``; download through torchvision first when allowed and missing."""
    if name not in CIFAR_LAYOUTS:
        raise DataError(f"unknown CIFAR dataset {name!r}; known: {sorted(CIFAR_LAYOUTS)}")
    layout = CIFAR_LAYOUTS[name]
    root = Path(root)
    folder = root / layout["folder"]
    needed = [*layout["train"], *layout["test"], layout["meta"]]
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing and download:
        _download(name, root)
        missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        url, _ = _archive(name)
        raise DataError(
            f"{name}: raw data missing in {folder} (absent: {', '.join(missing)}). Download {url} and extract it "
            f"into {root} (the archive holds {layout['folder']}/), or let the run download it: leave "
            f"download_raw on (the default in conf/base/globals.yml; --params download_raw=true)."
        )
    meta = restricted_load(folder / layout["meta"])
    classes = tuple(meta[layout["names_key"]]) if isinstance(meta, dict) else ()
    if not classes:
        raise DataError(f"{folder / layout['meta']}: no '{layout['names_key']}' list")
    parts = {}
    for part in ("train", "test"):
        images, labels = _read_batches(folder, layout[part], layout["label_key"])
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise DataError(f"{folder}: {part} labels outside [0, {len(classes)})")
        parts[part] = ImageArrays(images, labels, classes)
    return TrainTest(name, parts["train"], parts["test"])


def _archive(name: str) -> tuple[str, str]:
    """(url, md5) of the official archive, as torchvision knows them."""
    from torchvision.datasets import CIFAR10, CIFAR100

    cls = CIFAR10 if name == "cifar10" else CIFAR100
    return cls.url, cls.tgz_md5


def _download(name: str, root: Path) -> None:
    """The official archive through torchvision (checksum verified, a progress bar on stderr), extracted into
    ``root``; any failure becomes one error naming the URL and where to put the files by hand."""
    from torchvision.datasets.utils import download_and_extract_archive

    url, md5 = _archive(name)
    log.info("%s: downloading %s into %s (about %s)", name, url, root, "170 MB" if name == "cifar10" else "160 MB")
    try:
        root.mkdir(parents=True, exist_ok=True)
        download_and_extract_archive(url, str(root), filename=url.rsplit("/", 1)[1], md5=md5)
    except Exception as exc:  # URLError, timeouts, a full disk, a bad checksum: all end the same way
        raise DataError(
            f"{name}: downloading {url} into {root} failed ({type(exc).__name__}: {exc}). Download the archive "
            f"elsewhere and extract it into {root} (so that {root / CIFAR_LAYOUTS[name]['folder']}/ exists), or "
            f"turn the download off with --params download_raw=false (or download_raw: false in "
            f"conf/local/globals.yml) on machines without network."
        ) from exc


def write_cifar_layout(name: str, root: str | Path, train: ImageArrays, test: ImageArrays) -> Path:
    """Write arrays in the official pickle layout (used to build fixtures and tiny test datasets)."""
    layout = CIFAR_LAYOUTS[name]
    folder = Path(root) / layout["folder"]
    folder.mkdir(parents=True, exist_ok=True)

    def batch(arr: ImageArrays, label: str) -> dict:
        flat = arr.images.transpose(0, 3, 1, 2).reshape(len(arr), 3072)
        out = {"batch_label": label, "data": flat, layout["label_key"]: arr.labels.tolist()}
        out["filenames"] = [f"{i:06d}.png" for i in range(len(arr))]
        if name == "cifar100":
            out["coarse_labels"] = (arr.labels // 5).tolist()
        return out

    chunks = np.array_split(np.arange(len(train)), len(layout["train"]))
    for fname, idx in zip(layout["train"], chunks, strict=True):
        with open(folder / fname, "wb") as f:
            pickle.dump(batch(train.subset(idx), fname), f, protocol=2)
    with open(folder / layout["test"][0], "wb") as f:
        pickle.dump(batch(test, "testing batch"), f, protocol=2)
    meta = {layout["names_key"]: list(train.classes)}
    if name == "cifar100":
        meta["coarse_label_names"] = [f"coarse_{i}" for i in range(20)]
    with open(folder / layout["meta"], "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return folder
