"""Versioned folders of many files (image crops, converted label maps) written in one piece.

A node returns a *writer* (a plain object with ``write(folder, final)``) instead of the files
themselves, so tens of thousands of images never sit in memory: the dataset calls the writer on a
hidden temporary folder next to the version folder and renames it into place only when the writer
has finished. A crash leaves no half-written version; an existing version is never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from longtail_lab.atomic import atomic_folder
from longtail_lab.io._local import LocalVersionedDataset


class FolderWriter(Protocol):
    def write(self, folder: Path, final: Path) -> None:
        """Write every file into ``folder``. Contents that name paths must use ``final``: where the
        folder will be once committed (it is renamed, not copied)."""


class VersionedFolderDataset(LocalVersionedDataset):
    """``save(writer)`` fills ``<filepath>/<version>/`` through the writer; ``load()`` returns that folder."""

    def load(self) -> Path:
        folder = self.load_path()
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: folder does not exist")
        return folder

    def save(self, data: FolderWriter) -> None:
        final = self.save_path()
        with atomic_folder(final) as tmp:
            data.write(tmp, final.resolve())
