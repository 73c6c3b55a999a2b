"""FmowLayoutDataset: a read-only index of the raw fMoW tree (nothing decoded on load)."""

from __future__ import annotations

import pytest
from kedro.io.core import DatasetError

from longtail_lab.io.fmow import FmowLayoutDataset
from tests.fmow_fixtures import write_fmow_tree


def test_load_indexes_the_tree_and_save_is_refused(tmp_path):
    root = write_fmow_tree(tmp_path / "fmow")
    dataset = FmowLayoutDataset(path=str(root))
    assert dataset.exists()
    index = dataset.load()
    assert index.root == root and index.splits == ("test", "train", "val")
    assert sorted(index.images["split"].value_counts().items()) == [("test", 2), ("train", 6), ("val", 1)]
    preview = dataset.preview(nrows=3)
    assert len(preview["data"]) == 3 and preview["columns"][0] == "split"
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(index)


def test_missing_root_is_named(tmp_path):
    dataset = FmowLayoutDataset(path=str(tmp_path / "absent"))
    assert not dataset.exists()
    with pytest.raises(DatasetError, match="absent: fMoW root folder does not exist"):
        dataset.load()
