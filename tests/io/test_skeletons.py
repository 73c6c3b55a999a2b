"""Skeleton catalog datasets: name lists, sets of name lists, PYSKL annotation pickles."""

from __future__ import annotations

import os
import pickle
from contextlib import contextmanager

import numpy as np
import pytest
from kedro.io.core import DatasetError, Version

from longtail_lab.data.skeletons.ntu_names import names_from_sequence
from longtail_lab.data.skeletons.pyskl import AnnotationSet, read_annotations
from longtail_lab.errors import DataError
from longtail_lab.io.skeletons import NameListDataset, NameListSetDataset, PysklAnnotationsDataset
from tests.ntu_fixtures import annotation, write_names


@contextmanager
def raises_data_error(match: str):
    """Kedro wraps load/save errors in DatasetError; the DataError (our message) is its cause."""
    with pytest.raises(DatasetError, match=match) as info:
        yield info
    assert isinstance(info.value.__cause__, DataError)


NAMES = ["S001C001P001R001A002", "S001C001P001R001A001", "S002C002P003R002A060"]
V1 = "2024-01-01T00.00.00.000Z"
V2 = "2024-01-02T00.00.00.000Z"


def test_name_list_versioned_round_trip_without_trailing_newline(tmp_path):
    filepath = tmp_path / "lists" / "NTU60_xsub_exp_10.txt"
    NameListDataset(filepath=str(filepath), num_classes=60, version=Version(None, V1)).save(names_from_sequence(NAMES))
    stored = filepath / V1 / "NTU60_xsub_exp_10.txt"
    assert stored.read_bytes() == "\n".join(NAMES).encode()
    loaded = NameListDataset(filepath=str(filepath), version=Version(None, None)).load()
    assert loaded.names == tuple(NAMES) and loaded.labels.tolist() == [1, 0, 59]
    NameListDataset(filepath=str(filepath), version=Version(None, V2)).save(NAMES[:1])  # a plain list works too
    assert NameListDataset(filepath=str(filepath), version=Version(None, None)).load().names == tuple(NAMES[:1])
    assert NameListDataset(filepath=str(filepath), version=Version(V1, None)).load().names == tuple(NAMES)


def test_name_list_load_and_save_validate(tmp_path):
    path = write_names(tmp_path / "raw.txt", NAMES[:2] + ["S001C001P001R001A01"])
    with raises_data_error(r"raw\.txt, line 3: 'S001C001P001R001A01' is not an NTU sample name"):
        NameListDataset(filepath=str(path)).load()
    path = write_names(tmp_path / "raw60.txt", NAMES)
    with raises_data_error(r"raw60\.txt, line 3: .*not below num_classes=59"):
        NameListDataset(filepath=str(path), num_classes=59).load()
    out = tmp_path / "out.txt"
    with raises_data_error(r"line 2: 'bad' is not an NTU sample name"):
        NameListDataset(filepath=str(out)).save(["S001C001P001R001A001", "bad"])
    with raises_data_error("expected SampleNames or a list"):
        NameListDataset(filepath=str(out)).save("S001C001P001R001A001")
    assert not out.exists()
    ucla = write_names(tmp_path / "ucla.txt", ["a01_s01_e00_v01", "a12_s02_e01_v02"], trailing_newline=True)
    assert NameListDataset(filepath=str(ucla), dataset="nwucla").load().labels.tolist() == [0, 9]


def test_name_list_set_save_load_and_pattern(tmp_path):
    filepath = tmp_path / "lt_lists"
    lists = {"NTU60_xsub_exp_10": names_from_sequence(NAMES), "NTU60_xview_exp_10": NAMES[:2]}
    NameListSetDataset(filepath=str(filepath), version=Version(None, V1)).save(lists)
    folder = filepath / V1 / "lt_lists"
    assert sorted(p.name for p in folder.iterdir()) == ["NTU60_xsub_exp_10.txt", "NTU60_xview_exp_10.txt"]
    assert (folder / "NTU60_xsub_exp_10.txt").read_bytes() == "\n".join(NAMES).encode()
    loaded = NameListSetDataset(filepath=str(filepath), version=Version(None, None)).load()
    assert {k: v.names for k, v in loaded.items()} == {
        "NTU60_xsub_exp_10": tuple(NAMES),
        "NTU60_xview_exp_10": tuple(NAMES[:2]),
    }
    only_xsub = NameListSetDataset(filepath=str(folder), pattern="NTU60_xsub_*.txt").load()
    assert list(only_xsub) == ["NTU60_xsub_exp_10"]
    with pytest.raises(DatasetError, match="must not exist"):
        NameListSetDataset(filepath=str(filepath), version=Version(None, V1)).save(lists)


def test_name_list_set_missing_folder_and_bad_input(tmp_path):
    assert NameListSetDataset(filepath=str(tmp_path / "absent"), missing_ok=True).load() == {}
    with raises_data_error("name-list folder does not exist"):
        NameListSetDataset(filepath=str(tmp_path / "absent")).load()
    target = tmp_path / "out"
    with raises_data_error("not a safe file name"):
        NameListSetDataset(filepath=str(target)).save({"../escape": NAMES})
    with raises_data_error(r"out/b\.txt, line 1"):
        NameListSetDataset(filepath=str(target)).save({"a": NAMES, "b": ["nope"]})
    assert not target.exists() and not any(p.name.startswith(".") for p in tmp_path.iterdir())  # nothing partial


def test_pyskl_dataset_round_trip_and_refusal(tmp_path):
    filepath = tmp_path / "lt_3danno.pkl"
    anns = [annotation(n, frames=2) for n in NAMES]
    data = AnnotationSet(anns, {"xsub_train": NAMES[:2], "xsub_val": NAMES[2:]})
    PysklAnnotationsDataset(filepath=str(filepath), version=Version(None, V1)).save(data)
    stored = filepath / V1 / "lt_3danno.pkl"
    assert read_annotations(stored).split == data.split
    loaded = PysklAnnotationsDataset(filepath=str(filepath), version=Version(None, None)).load()
    np.testing.assert_array_equal(loaded.annotations[2]["keypoint"], anns[2]["keypoint"])
    with raises_data_error("expected an AnnotationSet"):
        PysklAnnotationsDataset(filepath=str(tmp_path / "x.pkl")).save({"annotations": anns})

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps([Evil()]))
    with raises_data_error(r"evil\.pkl: refused pickle"):
        PysklAnnotationsDataset(filepath=str(evil)).load()
