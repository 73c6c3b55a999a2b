"""VersionedFolderDataset: writers fill a temp folder that is renamed into place only on success."""

from __future__ import annotations

import pytest
from kedro.io.core import DatasetError, Version

from longtail_lab.io.folders import VersionedFolderDataset

V1 = "2024-01-01T00.00.00.000Z"
V2 = "2024-01-02T00.00.00.000Z"


class Writer:
    def __init__(self, text: str, fail: bool = False) -> None:
        self.text, self.fail = text, fail

    def write(self, folder, final):
        (folder / "a.txt").write_text(self.text)
        (folder / "where.txt").write_text(str(final))
        if self.fail:
            raise RuntimeError("disk full")


def test_save_then_load_returns_the_version_folder(tmp_path):
    root = tmp_path / "crops"
    VersionedFolderDataset(filepath=str(root), version=Version(None, V1)).save(Writer("one"))
    folder = VersionedFolderDataset(filepath=str(root), version=Version(None, None)).load()
    assert folder == root / V1 / "crops"
    assert (folder / "a.txt").read_text() == "one"
    assert (folder / "where.txt").read_text() == str(folder.resolve())


def test_failed_writer_leaves_nothing_and_older_versions_intact(tmp_path):
    root = tmp_path / "crops"
    VersionedFolderDataset(filepath=str(root), version=Version(None, V1)).save(Writer("one"))
    with pytest.raises(DatasetError, match="disk full"):
        VersionedFolderDataset(filepath=str(root), version=Version(None, V2)).save(Writer("two", fail=True))
    assert sorted(p.name for p in root.iterdir()) == [V1]
    assert (root / V1 / "crops" / "a.txt").read_text() == "one"
    assert VersionedFolderDataset(filepath=str(root), version=Version(None, None)).load() == root / V1 / "crops"


def test_loading_a_missing_version_is_an_error(tmp_path):
    with pytest.raises(DatasetError):
        VersionedFolderDataset(filepath=str(tmp_path / "none"), version=Version(None, None)).load()
