"""The project's Kedro datasets: versioned list files, list-file sets, checkpoints, raw sources."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kedro.io.core import DatasetError, Version

from longtail_lab.data.images.sources import ImageSources
from longtail_lab.data.lists.format import LabelList, format_list
from longtail_lab.engine.checkpoints import CheckpointError
from longtail_lab.errors import DataError
from longtail_lab.io import (
    ImageSourcesDataset,
    ListFileDataset,
    ListFileSetDataset,
    RunCheckpointsDataset,
    TorchCheckpointDataset,
)
from tests.fixtures import write_tiny_cifar10

V1 = "2024-01-01T00.00.00.000Z"
V2 = "2024-01-02T00.00.00.000Z"


def _list(items, labels) -> LabelList:
    return LabelList(tuple(items), np.asarray(labels, dtype=np.int64))


def _assert_same(a: LabelList, b: LabelList) -> None:
    assert a.items == b.items
    assert a.labels.tolist() == b.labels.tolist()


# --- ListFileDataset ---------------------------------------------------------------------------


def test_list_file_versioned_round_trip(tmp_path):
    filepath = tmp_path / "lists" / "train_split.txt"
    lst = _list(["3", "17", "train/cat/0.png"], [0, 1, 2])
    saver = ListFileDataset(filepath=str(filepath), num_classes=3, version=Version(None, None))
    saver.save(lst)
    versions = list(filepath.iterdir())
    assert len(versions) == 1
    stored = versions[0] / "train_split.txt"
    assert stored.read_text() == "3 0\n17 1\ntrain/cat/0.png 2\n"
    loaded = ListFileDataset(filepath=str(filepath), num_classes=3, version=Version(None, None)).load()
    _assert_same(loaded, lst)
    assert loaded.line_numbers == (1, 2, 3)
    assert saver.exists()


def test_list_file_load_latest_of_several_versions(tmp_path):
    filepath = str(tmp_path / "l.txt")
    ListFileDataset(filepath=filepath, version=Version(None, V1)).save(_list(["a"], [0]))
    ListFileDataset(filepath=filepath, version=Version(None, V2)).save(_list(["b"], [1]))
    _assert_same(ListFileDataset(filepath=filepath, version=Version(None, None)).load(), _list(["b"], [1]))
    _assert_same(ListFileDataset(filepath=filepath, version=Version(V1, None)).load(), _list(["a"], [0]))


def test_versioned_list_is_never_overwritten(tmp_path):
    filepath = tmp_path / "l.txt"
    ListFileDataset(filepath=str(filepath), version=Version(None, V1)).save(_list(["a"], [0]))
    with pytest.raises(DatasetError, match="must not exist"):
        ListFileDataset(filepath=str(filepath), version=Version(None, V1)).save(_list(["b"], [1]))
    assert (filepath / V1 / "l.txt").read_text() == "a 0\n"
    assert sorted(p.name for p in (filepath / V1).iterdir()) == ["l.txt"]  # no temp file left behind


def test_versioned_list_with_a_relative_filepath(tmp_path, monkeypatch):
    """Catalog entries name relative paths; versioned save and load-latest must work from the working folder."""
    monkeypatch.chdir(tmp_path)
    ListFileDataset(filepath="data/l.txt", version=Version(None, V1)).save(_list(["a"], [0]))
    ListFileDataset(filepath="data/l.txt", version=Version(None, None)).save(_list(["b"], [1]))
    assert (tmp_path / "data" / "l.txt" / V1 / "l.txt").read_text() == "a 0\n"
    _assert_same(ListFileDataset(filepath="data/l.txt", version=Version(None, None)).load(), _list(["b"], [1]))


def test_unversioned_list_file(tmp_path):
    filepath = tmp_path / "plain.txt"
    ds = ListFileDataset(filepath=str(filepath))
    assert not ds.exists()
    ds.save(_list(["x y.png", "z.png"], [4, 0]))
    assert filepath.read_text() == "x y.png 4\nz.png 0\n"
    _assert_same(ds.load(), _list(["x y.png", "z.png"], [4, 0]))


def test_list_file_num_classes_checked_on_load(tmp_path):
    filepath = tmp_path / "labels.txt"
    filepath.write_text("a 0\n\nb 7\n")
    assert ListFileDataset(filepath=str(filepath), num_classes=8).load().labels.tolist() == [0, 7]
    with pytest.raises(DatasetError) as info:  # Kedro wraps load errors; the DataError is the cause
        ListFileDataset(filepath=str(filepath), num_classes=5).load()
    assert isinstance(info.value.__cause__, DataError)
    assert f"{filepath}, line 3:" in str(info.value.__cause__)
    assert "label 7" in str(info.value)


def test_list_file_num_classes_checked_on_save(tmp_path):
    filepath = tmp_path / "labels.txt"
    with pytest.raises(DatasetError) as info:
        ListFileDataset(filepath=str(filepath), num_classes=2).save(_list(["a", "b"], [1, 2]))
    assert isinstance(info.value.__cause__, DataError)
    assert "line 2" in str(info.value)
    assert not filepath.exists()


# --- ListFileSetDataset ------------------------------------------------------------------------


def test_list_file_set_round_trip(tmp_path):
    lists = {
        "forward50": _list(["0", "5"], [0, 1]),
        "uniform": _list(["1", "2", "3"], [0, 1, 1]),
        "backward50": _list(["9"], [1]),
    }
    filepath = tmp_path / "test_agnostic"
    ListFileSetDataset(filepath=str(filepath), version=Version(None, V1)).save(lists)
    folder = filepath / V1 / "test_agnostic"
    assert sorted(p.name for p in folder.iterdir()) == ["backward50.txt", "forward50.txt", "uniform.txt"]
    assert (folder / "uniform.txt").read_text() == format_list(lists["uniform"])
    assert not (filepath / V1 / ".test_agnostic.partial").exists()
    loaded = ListFileSetDataset(filepath=str(filepath), version=Version(None, None)).load()
    assert sorted(loaded) == sorted(lists)
    for name, lst in lists.items():
        _assert_same(loaded[name], lst)
    with pytest.raises(DatasetError, match="must not exist"):
        ListFileSetDataset(filepath=str(filepath), version=Version(None, V1)).save(lists)


# --- checkpoints -------------------------------------------------------------------------------


def test_torch_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    checkpoint = {"model": model.state_dict(), "epoch": 7, "history": [0.5, 0.25], "classes": ["a", "b", "c"]}
    filepath = tmp_path / "model.pt"
    ds = TorchCheckpointDataset(filepath=str(filepath), version=Version(None, None))
    ds.save(checkpoint)
    loaded = TorchCheckpointDataset(filepath=str(filepath), version=Version(None, None)).load()
    assert loaded["epoch"] == 7 and loaded["history"] == [0.5, 0.25] and loaded["classes"] == ["a", "b", "c"]
    assert list(loaded["model"]) == list(checkpoint["model"])
    for key, value in checkpoint["model"].items():
        assert torch.equal(loaded["model"][key], value)
    preview = TorchCheckpointDataset(filepath=str(filepath), version=Version(None, None)).preview()
    assert preview["columns"] == ["tensor", "shape", "dtype"]
    assert preview["data"][:2] == [["0.weight", [3, 4], "torch.float32"], ["0.bias", [3], "torch.float32"]]
    assert preview["data"][-1] == ["1.num_batches_tracked", [], "torch.int64"]
    assert preview["index"] == list(range(7))


def test_list_file_preview_shows_the_first_rows(tmp_path):
    lst = LabelList(("train/a/0.png", "train/b/1.png", "train/b/2.png"), np.array([0, 1, 1]))
    ds = ListFileDataset(filepath=str(tmp_path / "split.txt"))
    ds.save(lst)
    assert ds.preview(nrows=2) == {
        "index": [0, 1],
        "columns": ["item", "label"],
        "data": [["train/a/0.png", 0], ["train/b/1.png", 1]],
    }


def test_truncated_checkpoint_names_the_path(tmp_path):
    filepath = tmp_path / "model.pt"
    ds = TorchCheckpointDataset(filepath=str(filepath))
    ds.save({"model": torch.nn.Linear(8, 8).state_dict()})
    data = filepath.read_bytes()
    filepath.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError) as info:
        TorchCheckpointDataset(filepath=str(filepath)).load()
    cause = info.value.__cause__
    assert isinstance(cause, CheckpointError)
    assert str(filepath) in str(cause)
    assert "truncated or corrupt" in str(cause)


def test_checkpoint_without_model_entry_is_refused(tmp_path):
    filepath = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, filepath)
    with pytest.raises(DatasetError) as info:
        TorchCheckpointDataset(filepath=str(filepath)).load()
    assert isinstance(info.value.__cause__, CheckpointError)
    assert "no 'model' entry" in str(info.value)


def test_run_checkpoints_dataset_is_read_only(tmp_path):
    ds = RunCheckpointsDataset(path=str(tmp_path / "runs"))
    handle = ds.load()
    assert handle.path("abc") == tmp_path / "runs" / "abc" / "last.pt"
    with pytest.raises(DatasetError, match="read-only"):
        ds.save({"model": {}})


# --- raw sources -------------------------------------------------------------------------------


def test_image_sources_unknown_dataset_lists_known_names(tmp_path):
    ds = ImageSourcesDataset(
        sources={
            "cifar100": {"format": "cifar", "path": str(tmp_path / "a")},
            "cifar10_jpg": {"format": "image_folder", "path": str(tmp_path / "b")},
        }
    )
    sources = ds.load()
    assert isinstance(sources, ImageSources)
    assert sources.names() == ["cifar100", "cifar10_jpg"]
    with pytest.raises(DataError) as info:
        sources.load("imagenet_lt")
    assert "'imagenet_lt'" in str(info.value)
    assert "['cifar100', 'cifar10_jpg']" in str(info.value)
    with pytest.raises(DatasetError, match="read-only"):
        ds.save(sources)


@pytest.mark.parametrize(
    "cfg",
    [{"path": "/data/x"}, {"format": "hdf5", "path": "/data/x"}, {"format": "cifar"}, "cifar"],
)
def test_image_sources_bad_config(cfg):
    with pytest.raises(DataError) as info:
        ImageSourcesDataset(sources={"broken": cfg})
    assert "'broken'" in str(info.value)
    assert "'format'" in str(info.value)
    assert "['cifar', 'image_folder']" in str(info.value)


def test_image_sources_load_reads_and_caches(tmp_path):
    write_tiny_cifar10(tmp_path / "raw", train_per_class=2, test_per_class=1)
    sources = ImageSourcesDataset(
        sources={"tiny": {"format": "cifar", "dataset": "cifar10", "path": str(tmp_path / "raw")}}
    ).load()
    data = sources.load("tiny")
    assert data.name == "cifar10"
    assert data.train.images.shape == (20, 32, 32, 3)
    assert sources.load("tiny") is data
