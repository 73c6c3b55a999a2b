"""kedro-datasets' JSON, CSV and matplotlib datasets, saved atomically (catalog ``type: longtail_lab.io.<Name>``).

The library classes write straight into the final path, so a full disk or a kill mid-save leaves a truncated
file inside the version folder that later loads take for a result. These subclasses change one thing: the
library's own ``save`` writes into a hidden temporary beside the final path (``longtail_lab.atomic``), which is
flushed to disk and renamed into place only when the library has finished. Everything else (arguments,
loading, kedro-viz previews) is the library's.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from kedro_datasets.json import JSONDataset as _JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset as _MatplotlibDataset
from kedro_datasets.pandas import CSVDataset as _CSVDataset

from longtail_lab.atomic import write_file_atomically
from longtail_lab.io._local import stale_folders


class AtomicSaveMixin:
    """Put before a kedro-datasets class: its ``save`` writes to a temporary that is renamed on success."""

    _writing_to: PurePosixPath | None = None

    def _get_save_path(self) -> PurePosixPath:
        if self._writing_to is not None:  # inside ``save``: the library writes here
            return self._writing_to
        return super()._get_save_path()

    def save(self, data: Any) -> None:
        if self._protocol != "file":  # fsspec's remote stores have their own semantics; leave them alone
            return self._library_save(data)
        final = Path(str(super()._get_save_path()))  # refuses a version that exists already

        def write(tmp: Path) -> None:
            self._writing_to = PurePosixPath(tmp)
            try:
                self._library_save(data)
            finally:
                self._writing_to = None

        try:
            write_file_atomically(final, write)  # an OSError names ``final``
        finally:
            if final.parent.is_dir() and not any(final.parent.iterdir()):
                shutil.rmtree(final.parent, ignore_errors=True)  # the version folder of a failed save
        self._invalidate_cache()

    def _library_save(self, data: Any) -> None:
        # the library's save without Kedro's wrapper (this class's ``save`` is wrapped already)
        parent_save = super().save
        getattr(parent_save, "__wrapped__", parent_save)(self, data)

    def stale_temporary_folders(self) -> list[Path]:
        return stale_folders(Path(str(self._filepath)))


class JSONDataset(AtomicSaveMixin, _JSONDataset):
    """``json.JSONDataset``, saved atomically."""


class CSVDataset(AtomicSaveMixin, _CSVDataset):
    """``pandas.CSVDataset``, saved atomically."""


class MatplotlibDataset(AtomicSaveMixin, _MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` for one figure per version, saved atomically."""

    def save(self, data: Any) -> None:
        if isinstance(data, list | dict):
            raise TypeError(f"{self._filepath}: one figure per version (got a {type(data).__name__} of figures)")
        super().save(data)
