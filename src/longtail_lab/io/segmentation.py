"""Raw segmentation dataset roots (Cityscapes, GTAV, SYNTHIA) as read-only catalog entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from longtail_lab.data.segmentation.layouts import LAYOUTS, SegIndex, discover


class SegLayoutDataset(AbstractDataset):
    """``load()`` lists the image/label pairs under ``path`` in ``layout``; no pixel is decoded.

    An absent root folder loads as an index with ``exists=False`` (the pipeline reports the dataset as
    absent instead of failing, so a user with only Cityscapes can run every namespace); a root that exists
    but does not follow the layout is an error naming the expected layout.
    """

    def __init__(self, *, layout: str, path: str, metadata: dict | None = None) -> None:
        if layout not in LAYOUTS:
            raise DatasetError(f"layout '{layout}' is unknown; known: {list(LAYOUTS)}")
        self._layout, self._path = layout, Path(path)
        self.metadata = metadata

    def load(self) -> SegIndex:
        return discover(self._layout, self._path)

    def save(self, data: Any) -> None:
        raise DatasetError("raw segmentation datasets are read-only")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"layout": self._layout, "path": str(self._path)}
