"""The CIFAR reader on tiny datasets written in the official python-pickle layout."""

from __future__ import annotations

import builtins
import os
import pickle

import numpy as np
import pytest

from longtail_lab.data.images.arrays import ImageArrays
from longtail_lab.data.images.cifar import CIFAR_LAYOUTS, read_cifar, restricted_load, write_cifar_layout
from longtail_lab.errors import DataError
from tests.fixtures import tiny_cifar, write_tiny_cifar10, write_tiny_cifar100


def test_read_tiny_cifar100_shapes_and_classes(tmp_path):
    folder = write_tiny_cifar100(tmp_path, train_per_class=3, test_per_class=2)
    assert folder == tmp_path / "cifar-100-python"
    data = read_cifar("cifar100", tmp_path)
    assert data.name == "cifar100"
    assert data.train.images.shape == (300, 32, 32, 3)
    assert data.test.images.shape == (200, 32, 32, 3)
    assert data.train.images.dtype == np.uint8
    assert data.train.labels.dtype == np.int64
    assert data.train.classes == tuple(f"class_{c:03d}" for c in range(100))
    assert data.test.classes == data.train.classes
    assert data.train.class_counts().tolist() == [3] * 100
    assert data.test.class_counts().tolist() == [2] * 100
    assert data.train.items[:3] == ("0", "1", "2")


@pytest.mark.parametrize(("name", "num_classes"), [("cifar100", 100), ("cifar10", 10)])
def test_pixels_and_labels_round_trip_exactly(tmp_path, name, num_classes):
    train, test = tiny_cifar(num_classes, 4, 2, seed=7)
    write_cifar_layout(name, tmp_path, train, test)
    data = read_cifar(name, tmp_path)
    np.testing.assert_array_equal(data.train.images, train.images)
    np.testing.assert_array_equal(data.train.labels, train.labels)
    np.testing.assert_array_equal(data.test.images, test.images)
    np.testing.assert_array_equal(data.test.labels, test.labels)
    assert data.train.images.flags["C_CONTIGUOUS"]


def test_channel_layout_is_rrr_ggg_bbb(tmp_path):
    """The official 'data' rows are 1024 red, 1024 green, 1024 blue values, each plane row-major."""
    images = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    images[0, 0, 1, 0] = 11  # red at row 0, column 1
    images[0, 2, 0, 1] = 22  # green at row 2, column 0
    images[0, 31, 31, 2] = 33  # blue at the last pixel
    arr = ImageArrays(images, np.array([0]), ("a", "b"))
    folder = write_cifar_layout("cifar100", tmp_path, arr, arr)
    with open(folder / "train", "rb") as f:
        row = pickle.load(f, encoding="latin1")["data"][0]
    assert np.flatnonzero(row).tolist() == [1, 1024 + 64, 3071]
    np.testing.assert_array_equal(read_cifar("cifar100", tmp_path).train.images, images)


def test_read_tiny_cifar10_concatenates_the_five_batches(tmp_path):
    folder = write_tiny_cifar10(tmp_path, train_per_class=3, test_per_class=2)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*CIFAR_LAYOUTS["cifar10"]["train"], "test_batch", "batches.meta"]
    )
    data = read_cifar("cifar10", tmp_path)
    assert data.train.images.shape == (30, 32, 32, 3)
    assert data.test.images.shape == (20, 32, 32, 3)
    assert data.train.classes == tuple(f"class_{c:03d}" for c in range(10))
    assert data.train.class_counts().tolist() == [3] * 10


def test_missing_raw_data_names_folder_and_download(tmp_path):
    with pytest.raises(DataError) as info:
        read_cifar("cifar100", tmp_path / "raw")
    message = str(info.value)
    assert str(tmp_path / "raw" / "cifar-100-python") in message
    assert "download" in message
    assert "train" in message and "meta" in message


def test_missing_raw_data_names_the_official_archive(tmp_path):
    with pytest.raises(DataError, match=r"Download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"):
        read_cifar("cifar10", tmp_path / "raw")


def test_a_failed_download_names_the_url_and_where_to_put_the_files(tmp_path, monkeypatch):
    """No network in tests: the download itself is replaced by one that fails the way urllib does offline."""
    import urllib.error

    import torchvision.datasets.utils as tv_utils

    calls = []

    def offline(url, root, filename=None, md5=None, **kwargs):
        calls.append((url, root, filename, md5))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", offline)
    with pytest.raises(DataError) as info:
        read_cifar("cifar100", tmp_path / "raw", download=True)
    message = str(info.value)
    assert "downloading https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz" in message
    assert "URLError" in message and "Temporary failure in name resolution" in message
    assert str(tmp_path / "raw" / "cifar-100-python") in message and "download_raw=false" in message
    # torchvision's own checksum is passed on
    assert calls == [
        (
            "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
            str(tmp_path / "raw"),
            "cifar-100-python.tar.gz",
            "eb9058c3a382ffc7106e4002c42a8d85",
        )
    ]


def test_the_download_is_skipped_when_the_pickles_are_there(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", lambda *a, **k: pytest.fail("downloaded"))
    write_tiny_cifar10(tmp_path, train_per_class=2, test_per_class=1)
    assert len(read_cifar("cifar10", tmp_path, download=True).train) == 20


def test_one_missing_batch_is_listed(tmp_path):
    folder = write_tiny_cifar10(tmp_path, 1, 1)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match=r"absent: data_batch_3\)"):
        read_cifar("cifar10", tmp_path)


def test_truncated_pickle_names_the_file(tmp_path):
    folder = write_tiny_cifar100(tmp_path, 2, 1)
    path = folder / "train"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as info:
        read_cifar("cifar100", tmp_path)
    assert str(path) in str(info.value)
    assert "not a readable dataset pickle" in str(info.value)


class _SystemPayload:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _EvalPayload:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (builtins.eval, (self.code,))


@pytest.mark.parametrize("kind", ["system", "eval"])
def test_hostile_pickle_is_refused_and_not_executed(tmp_path, kind):
    folder = write_tiny_cifar100(tmp_path, 2, 1)
    marker = tmp_path / "pwned"
    if kind == "system":
        payload = _SystemPayload(f"touch {marker}")
    else:
        payload = _EvalPayload(f"open({str(marker)!r}, 'w').close()")
    with open(folder / "train", "wb") as f:
        pickle.dump({"data": payload, "fine_labels": [0]}, f, protocol=2)
    with pytest.raises(DataError) as info:
        read_cifar("cifar100", tmp_path)
    assert str(folder / "train") in str(info.value)
    assert "is not allowed" in str(info.value)
    assert not marker.exists()


def test_hostile_meta_is_refused(tmp_path):
    folder = write_tiny_cifar100(tmp_path, 2, 1)
    marker = tmp_path / "pwned"
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": _SystemPayload(f"touch {marker}")}, f)
    with pytest.raises(DataError, match="meta"):
        read_cifar("cifar100", tmp_path)
    assert not marker.exists()


def test_restricted_load_reads_plain_containers(tmp_path):
    path = tmp_path / "ok.pkl"
    with open(path, "wb") as f:
        pickle.dump({"a": [1, 2.5, "x", (None, True)], "b": np.arange(3, dtype=np.uint8)}, f, protocol=2)
    obj = restricted_load(path)
    assert obj["a"] == [1, 2.5, "x", (None, True)]
    assert obj["b"].tolist() == [0, 1, 2]


def test_batch_without_labels_is_an_error(tmp_path):
    folder = write_tiny_cifar100(tmp_path, 2, 1)
    with open(folder / "test", "wb") as f:
        pickle.dump({"data": np.zeros((2, 3072), dtype=np.uint8), "labels": [0, 1]}, f, protocol=2)
    with pytest.raises(DataError, match=r"expected a dict with 'data' and 'fine_labels'"):
        read_cifar("cifar100", tmp_path)


def test_labels_beyond_meta_classes_are_an_error(tmp_path):
    folder = write_tiny_cifar100(tmp_path, 2, 1)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"c{i}" for i in range(50)]}, f, protocol=2)
    with pytest.raises(DataError, match=r"train labels outside \[0, 50\)"):
        read_cifar("cifar100", tmp_path)


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(DataError) as info:
        read_cifar("cifar1000", tmp_path)
    assert "cifar1000" in str(info.value)
    assert "cifar10" in str(info.value) and "cifar100" in str(info.value)
