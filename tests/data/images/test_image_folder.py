"""Image-folder datasets: <root>/<train|test>/<class>/<image>, sorted class order, exact pixels."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from longtail_lab.data.images.files import ImageFiles
from longtail_lab.data.images.image_folder import read_image_folder
from longtail_lab.errors import DataError
from tests.fixtures import SHARED_DATA

# created deliberately out of alphabetical order
CLASS_ORDER_CREATED = ("zebra", "cat", "moth")


def _write_png(path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _build_folder(root, per_class=(3, 2), size=(8, 6)) -> dict[str, np.ndarray]:
    """Writes PNGs with random pixels; returns {relative path: pixels}."""
    rng = np.random.default_rng(0)
    written = {}
    for part, n in zip(("train", "test"), per_class, strict=True):
        for name in CLASS_ORDER_CREATED:
            for i in range(n):
                pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
                rel = f"{part}/{name}/{i}.png"
                _write_png(root / rel, pixels)
                written[rel] = pixels
    return written


def test_classes_sorted_labels_items_and_pixels(tmp_path):
    written = _build_folder(tmp_path)
    (tmp_path / "train" / "cat" / "notes.txt").write_text("not an image")
    data = read_image_folder(tmp_path, "tiny")
    assert data.name == "tiny"
    assert data.train.classes == ("cat", "moth", "zebra")
    assert data.test.classes == ("cat", "moth", "zebra")
    assert data.train.items == tuple(f"train/{c}/{i}.png" for c in ("cat", "moth", "zebra") for i in range(3))
    assert data.test.items == tuple(f"test/{c}/{i}.png" for c in ("cat", "moth", "zebra") for i in range(2))
    assert data.train.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert data.test.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.train.labels.dtype == np.int64
    assert data.train.images.shape == (9, 8, 6, 3)
    assert data.train.images.dtype == np.uint8
    for part in (data.train, data.test):
        for item, image, label in zip(part.items, part.images, part.labels, strict=True):
            np.testing.assert_array_equal(image, written[item])
            assert part.classes[label] == item.split("/")[1]


def test_grayscale_images_are_converted_to_rgb(tmp_path):
    gray = np.arange(48, dtype=np.uint8).reshape(8, 6)
    for part in ("train", "test"):
        path = tmp_path / part / "a" / "0.png"
        path.parent.mkdir(parents=True)
        Image.fromarray(gray).save(path)  # 2-D uint8 -> mode L
    data = read_image_folder(tmp_path)
    assert data.train.images.shape == (1, 8, 6, 3)
    for channel in range(3):
        np.testing.assert_array_equal(data.train.images[0, :, :, channel], gray)


def test_test_part_uses_training_class_indices(tmp_path):
    _build_folder(tmp_path)
    for f in (tmp_path / "test" / "cat").iterdir():
        f.unlink()
    (tmp_path / "test" / "cat").rmdir()
    data = read_image_folder(tmp_path)
    assert data.test.classes == ("cat", "moth", "zebra")
    assert data.test.labels.tolist() == [1, 1, 2, 2]
    assert data.test.items[0] == "test/moth/0.png"


def test_unknown_test_class_is_an_error(tmp_path):
    _build_folder(tmp_path)
    _write_png(tmp_path / "test" / "aardvark" / "0.png", np.zeros((8, 6, 3), dtype=np.uint8))
    with pytest.raises(DataError, match=r"\['aardvark'\] are not among the training classes"):
        read_image_folder(tmp_path)


def test_missing_root(tmp_path):
    with pytest.raises(DataError) as info:
        read_image_folder(tmp_path / "nowhere", "cifar10_jpg")
    assert str(tmp_path / "nowhere") in str(info.value)
    assert "cifar10_jpg" in str(info.value)


def test_missing_test_part(tmp_path):
    _write_png(tmp_path / "train" / "a" / "0.png", np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(DataError, match=r"test: image folder missing"):
        read_image_folder(tmp_path)


def test_mixed_sizes_name_the_odd_file(tmp_path):
    _build_folder(tmp_path)
    odd = tmp_path / "train" / "moth" / "1.png"
    _write_png(odd, np.zeros((10, 6, 3), dtype=np.uint8))
    with pytest.raises(DataError) as info:
        read_image_folder(tmp_path)
    assert str(odd) in str(info.value)
    assert "(10, 6)" in str(info.value) and "(8, 6)" in str(info.value)


def test_undecodable_image_names_the_file(tmp_path):
    _build_folder(tmp_path)
    bad = tmp_path / "test" / "zebra" / "1.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError) as info:
        read_image_folder(tmp_path)
    assert str(bad) in str(info.value)
    assert "cannot decode" in str(info.value)


ARCHIVE = SHARED_DATA / "cifar10-jpg.tar.gz"


def test_real_cifar10_jpeg_subset(tmp_path):
    if not ARCHIVE.is_file():
        pytest.skip(f"{ARCHIVE} not available")
    wanted = {(part, cls): 0 for part in ("train", "test") for cls in ("cat", "airplane")}
    per_class = 20
    payloads = {}
    with tarfile.open(ARCHIVE) as tf:
        for member in tf:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 3 or (parts[0], parts[1]) not in wanted:
                continue
            if wanted[parts[0], parts[1]] >= per_class:
                continue
            data = tf.extractfile(member).read()
            target = tmp_path / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            payloads[member.name] = data
            wanted[parts[0], parts[1]] += 1
            if all(n >= per_class for n in wanted.values()):
                break
    assert all(n == per_class for n in wanted.values())

    data = read_image_folder(tmp_path, "cifar10_jpg")
    assert data.train.classes == ("airplane", "cat")
    assert data.train.images.shape == (2 * per_class, 32, 32, 3)
    assert data.test.images.shape == (2 * per_class, 32, 32, 3)
    assert data.train.labels.tolist() == [0] * per_class + [1] * per_class
    assert data.train.items[0] == "train/airplane/0000.jpg"
    assert data.test.items[-1] == f"test/cat/{per_class - 1:04d}.jpg"
    first = np.asarray(Image.open(io.BytesIO(payloads["train/airplane/0000.jpg"])).convert("RGB"))
    np.testing.assert_array_equal(data.train.images[0], first)
    assert 30 < data.train.images.mean() < 225  # real photos, not blank


def test_a_folder_read_on_disk_lists_the_same_items_and_labels_and_decodes_to_the_same_pixels(tmp_path):
    _build_folder(tmp_path)
    in_memory = read_image_folder(tmp_path, "tiny")
    on_disk = read_image_folder(tmp_path, "tiny", in_memory=False)
    for part in ("train", "test"):
        memory, files = getattr(in_memory, part), getattr(on_disk, part)
        assert isinstance(files, ImageFiles) and not hasattr(files, "images")
        assert files.items == memory.items and files.classes == memory.classes
        assert np.array_equal(files.labels, memory.labels)
        assert np.array_equal(files.decode().images, memory.images)
        rows = np.array([2, 0])
        assert files.subset(rows).items == memory.subset(rows).items
        image, label = files.dataset()[1]
        assert image.dtype == torch.uint8 and np.array_equal(image.numpy(), memory.images[1])
        assert int(label) == memory.labels[1]
