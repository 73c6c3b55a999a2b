"""Shared base for local, versioned, atomically written file datasets."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, Version


def _local_glob(pattern: str) -> list[str]:
    """Paths matching ``pattern``: absolute, or relative to the working folder like ``exists_function``."""
    base = Path("/") if pattern.startswith("/") else Path(".")
    return [str(p) for p in sorted(base.glob(pattern.lstrip("/")))]


def stale_folders(filepath: Path) -> list[Path]:
    """Where a killed save of the versioned dataset at ``filepath`` leaves temporaries: inside the dataset's
    folder (a version folder being written) and inside each version folder (a file being written)."""
    if not filepath.is_dir():
        return []
    return [filepath, *(p for p in filepath.iterdir() if p.is_dir() and not p.name.startswith("."))]


class LocalVersionedDataset(AbstractVersionedDataset):
    """Local-filesystem versioned dataset; subclasses implement ``load`` and ``save`` on paths."""

    def __init__(self, *, filepath: str, version: Version | None = None, metadata: dict | None = None) -> None:
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(filepath),
            version=version,
            exists_function=lambda p: Path(p).exists(),
            glob_function=_local_glob,
        )

    def load_path(self) -> Path:
        return Path(str(self._get_load_path()))

    def save_path(self) -> Path:
        return Path(str(self._get_save_path()))

    def stale_temporary_folders(self) -> list[Path]:
        return stale_folders(Path(str(self._filepath)))

    def _exists(self) -> bool:
        try:
            return self.load_path().exists()
        except Exception:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
