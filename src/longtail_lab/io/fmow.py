"""The raw fMoW tree as a read-only catalog entry (an index of files; no image is decoded on load)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError
from kedro_datasets._typing import TablePreview

from longtail_lab.data.fmow.crop_rule import INDEX_COLUMNS, FmowIndex, index_layout


class FmowLayoutDataset(AbstractDataset[None, FmowIndex]):
    """``path``: the fMoW root holding ``train/``, ``val/``, ``test/`` (fMoW-rgb: ``image_format: jpg``).

    ``load()`` walks the tree and returns an ``FmowIndex`` (images with their JSON records, plus files that
    cannot be used). JSON records are parsed later, per image, by the crop workers.
    """

    def __init__(self, *, path: str, image_format: str = "jpg", metadata: dict | None = None) -> None:
        self._path = Path(path)
        self._image_format = image_format
        self.metadata = metadata

    def load(self) -> FmowIndex:
        return index_layout(self._path, self._image_format)

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self._path}: the raw fMoW tree is read-only")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "image_format": self._image_format}

    def preview(self, nrows: int = 20) -> TablePreview:
        images = self.load().images.head(nrows)
        return TablePreview(
            {"index": list(range(len(images))), "columns": INDEX_COLUMNS, "data": images.values.tolist()}
        )
