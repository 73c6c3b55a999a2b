"""The raw image datasets known to the project, as one read-only catalog entry."""

from __future__ import annotations

from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from longtail_lab.data.images.sources import ImageSources


class ImageSourcesDataset(AbstractDataset):
    """``sources: {name: {format, path, ...}}`` -> an ``ImageSources`` handle; data is read on first use."""

    def __init__(self, *, sources: dict[str, dict], metadata: dict | None = None) -> None:
        self._sources = ImageSources(sources)
        self.metadata = metadata

    def load(self) -> ImageSources:
        return self._sources  # one handle per catalog, so a run decodes each dataset once

    def save(self, data: Any) -> None:
        raise DatasetError("raw image sources are read-only")

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"sources": self._sources.sources}
