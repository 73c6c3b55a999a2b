"""Shared base for local, versioned, atomically written file datasets."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, Version


def _local_glob(pattern: str) -> list[str]:
    """Paths matching ``pattern``: absolute, or relative to the working folder like ``exists_function``."""
    base = Path("/") if pattern.startswith("/") else Path(".")
    return [str(p) for p in sorted(base.glob(pattern.lstrip("/")))]


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

    def _exists(self) -> bool:
        try:
            return self.load_path().exists()
        except Exception:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
