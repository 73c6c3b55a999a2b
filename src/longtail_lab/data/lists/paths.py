"""Where list items really point: paths normalised for comparison, and symlinks followed for containment.

``normalised`` makes ``train/./x.png``, ``train//x.png`` and ``./train/x.png`` the same item as
``train/x.png`` (``posixpath.normpath``), so duplicates are found however they are written. ``RootGuard``
answers whether an item, once every symlink is followed (``Path.resolve``), still lies inside the image
root: a link inside the root that points elsewhere does not pass. Each folder is resolved once, and a file
only when it is itself a symlink, so checking a 437,513-line list costs a few thousand ``realpath`` calls.
"""

from __future__ import annotations

import posixpath
from pathlib import Path


def normalised(item: str) -> str:
    """The item as a comparable POSIX path (``.`` parts and repeated slashes removed)."""
    return posixpath.normpath(item)


class RootGuard:
    """Symlink-aware containment in one image root (the root itself may be a symlink)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self._folders: dict[str, tuple[Path, bool]] = {}

    def _folder(self, folder: str) -> tuple[Path, bool]:
        """(real path, inside the root) of a folder. Each prefix is looked at once (one ``lstat``); only a
        folder that is a symlink, or lies under one, is resolved."""
        found = self._folders.get(folder)
        if found is None:
            parent, _, name = folder.rpartition("/")
            if not folder:
                found = (self.root, True)
            else:
                real_parent, inside = self._folder(parent)
                path = real_parent / name
                if inside and name != ".." and not path.is_symlink():
                    found = (path, True)
                else:
                    real = path.resolve()
                    found = (real, real.is_relative_to(self.root))
            self._folders[folder] = found
        return found

    def folder_inside(self, folder: str) -> bool:
        """Whether the folder (relative to the root, "" for the root) resolves inside the root."""
        return self._folder(folder)[1]

    def outside(self, item: str, is_link: bool | None = None) -> Path | None:
        """Where ``item`` (relative, without ``..``) really leads when that is outside the root, else None.
        ``is_link``: whether the file is a symlink, if the caller knows (None: ask the file system)."""
        folder, _, name = item.rpartition("/")
        real_folder, inside = self._folder(folder)
        if inside:
            if is_link is None:
                is_link = (real_folder / name).is_symlink()
            if not is_link:
                return None
        path = (real_folder / name).resolve()
        return None if path.is_relative_to(self.root) else path
