"""Named raw image datasets and how to read each one (the catalog says where they are).

A source is ``{format: cifar, dataset: cifar10|cifar100, path: <root>, download: bool}`` or
``{format: image_folder, path: <root with train/ and test/>}``. Adding a format = one reader here. A reader
takes ``in_memory``: true decodes every image into ``ImageArrays``; false lists the files (``ImageFiles``) for
the loops to decode in DataLoader workers, which only formats in ``FILE_BACKED`` can do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from longtail_lab.data.images.arrays import TrainTest
from longtail_lab.data.images.cifar import read_cifar
from longtail_lab.data.images.image_folder import read_image_folder
from longtail_lab.errors import DataError
from longtail_lab.params import ParamBlock, Problems, setting


def _cifar(name: str, cfg: dict, in_memory: bool = True) -> TrainTest:
    download = cfg.get("download", False)
    if not isinstance(download, bool):
        raise DataError(f"raw source {name!r}: 'download' (download_raw) must be true or false, got {download!r}")
    return read_cifar(cfg.get("dataset", name), cfg["path"], download)


READERS: dict[str, Callable[[str, dict, bool], TrainTest]] = {
    "cifar": _cifar,
    "image_folder": lambda name, cfg, in_memory=True: read_image_folder(cfg["path"], name, in_memory),
}
FILE_BACKED = ("image_folder",)  # formats whose images can stay on disk (in_memory: false)


class ImageSources:
    """Lazy, cached access to raw datasets by name: ``sources.load("cifar100") -> TrainTest``."""

    def __init__(self, sources: dict[str, dict]) -> None:
        for name, cfg in sources.items():
            if not isinstance(cfg, dict) or cfg.get("format") not in READERS or "path" not in cfg:
                raise DataError(
                    f"raw source {name!r}: needs 'format' (one of {sorted(READERS)}) and 'path', got {cfg!r}"
                )
        self.sources = dict(sources)
        self._cache: dict[tuple[str, bool], TrainTest] = {}

    def names(self) -> list[str]:
        return sorted(self.sources)

    def file_backed(self, name: str) -> bool:
        """Whether ``name`` can be read with ``in_memory=False``."""
        return self.sources.get(name, {}).get("format") in FILE_BACKED

    def load(self, name: str, in_memory: bool = True) -> TrainTest:
        if name not in self.sources:
            raise DataError(f"unknown dataset {name!r}; the catalog's raw_image_datasets define {self.names()}")
        cfg = self.sources[name]
        if not in_memory and not self.file_backed(name):
            raise DataError(
                f"dataset {name!r} ({cfg['format']} format) cannot stay on disk: in_memory false needs one of the "
                f"formats {list(FILE_BACKED)}"
            )
        if (name, in_memory) not in self._cache:
            # keep one dataset in memory; a listing (in_memory false) holds names and labels only
            self._cache = {(name, in_memory): READERS[cfg["format"]](name, cfg, in_memory)}
        return self._cache[(name, in_memory)]

    def __repr__(self) -> str:
        return f"ImageSources({self.names()})"


@dataclass(frozen=True, kw_only=True)
class ImageLoading(ParamBlock):
    """How a training pipeline reads its images (the ``data`` block)."""

    # true: every image decoded once into memory and the split kept on the device; false: images stay on disk and
    # DataLoader workers decode each batch (image-folder datasets; for sets that do not fit in memory)
    in_memory: bool = True
    workers: int = setting(4, ge=0)  # DataLoader worker processes when in_memory is false (0: in the main process)

    def check_dataset(self, prefix: str, dataset: str, sources: ImageSources) -> Problems:
        if self.in_memory or dataset not in sources.names() or sources.file_backed(dataset):
            return []
        kind = sources.sources[dataset]["format"]
        return [
            (
                f"{prefix}.data.in_memory",
                f"is false, but dataset {dataset!r} ({kind} format) cannot stay on disk; file-backed training needs "
                f"an image-folder dataset ({', '.join(n for n in sources.names() if sources.file_backed(n)) or 'none'}"
                f" in the catalog)",
            )
        ]
