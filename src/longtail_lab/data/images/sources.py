"""Named raw image datasets and how to read each one (the catalog says where they are).

A source is ``{format: cifar, dataset: cifar10|cifar100, path: <root>, download: bool}`` or
``{format: image_folder, path: <root with train/ and test/>}``. Adding a format = one reader here.
"""

from __future__ import annotations

from collections.abc import Callable

from longtail_lab.data.images.arrays import TrainTest
from longtail_lab.data.images.cifar import read_cifar
from longtail_lab.data.images.image_folder import read_image_folder
from longtail_lab.errors import DataError


def _cifar(name: str, cfg: dict) -> TrainTest:
    download = cfg.get("download", False)
    if not isinstance(download, bool):
        raise DataError(f"raw source {name!r}: 'download' (download_raw) must be true or false, got {download!r}")
    return read_cifar(cfg.get("dataset", name), cfg["path"], download)


READERS: dict[str, Callable[[str, dict], TrainTest]] = {
    "cifar": _cifar,
    "image_folder": lambda name, cfg: read_image_folder(cfg["path"], name),
}


class ImageSources:
    """Lazy, cached access to raw datasets by name: ``sources.load("cifar100") -> TrainTest``."""

    def __init__(self, sources: dict[str, dict]) -> None:
        for name, cfg in sources.items():
            if not isinstance(cfg, dict) or cfg.get("format") not in READERS or "path" not in cfg:
                raise DataError(
                    f"raw source {name!r}: needs 'format' (one of {sorted(READERS)}) and 'path', got {cfg!r}"
                )
        self.sources = dict(sources)
        self._cache: dict[str, TrainTest] = {}

    def names(self) -> list[str]:
        return sorted(self.sources)

    def load(self, name: str) -> TrainTest:
        if name not in self.sources:
            raise DataError(f"parameter 'dataset': unknown dataset {name!r}; the catalog defines {self.names()}")
        if name not in self._cache:
            cfg = self.sources[name]
            self._cache = {name: READERS[cfg["format"]](name, cfg)}  # keep one decoded dataset in memory
        return self._cache[name]

    def __repr__(self) -> str:
        return f"ImageSources({self.names()})"
