"""List files in the ImageNet-LT format: parsing, formatting, validation and path resolution."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_lab.data.lists.format import (
    LabelList,
    check_labels,
    format_list,
    parse_list,
    read_list,
    resolve_paths,
)
from longtail_lab.errors import DataError


def _list(items, labels) -> LabelList:
    return LabelList(tuple(items), np.asarray(labels, dtype=np.int64))


def test_format_then_parse_round_trip():
    lst = _list(
        ["train/n01440764/n01440764_762.JPEG", "val_256/Places365_val_00003597.jpg", "7", "a b/c d.png"],
        [0, 12, 3, 999],
    )
    text = format_list(lst)
    assert text == (
        "train/n01440764/n01440764_762.JPEG 0\nval_256/Places365_val_00003597.jpg 12\n7 3\na b/c d.png 999\n"
    )
    back = parse_list(text)
    assert back.items == lst.items
    assert back.labels.dtype == np.int64
    assert back.labels.tolist() == [0, 12, 3, 999]
    assert back.line_numbers == (1, 2, 3, 4)
    assert format_list(back) == text
    assert back.content_hash() == lst.content_hash()


def test_content_hash_depends_on_items_labels_and_order():
    base = _list(["a", "b"], [0, 1])
    assert base.content_hash() == _list(["a", "b"], [0, 1]).content_hash()
    assert len(base.content_hash()) == 64
    assert base.content_hash() != _list(["a", "b"], [0, 2]).content_hash()
    assert base.content_hash() != _list(["b", "a"], [1, 0]).content_hash()
    assert base.content_hash() != _list(["a", "c"], [0, 1]).content_hash()


def test_blank_lines_are_skipped_and_line_numbers_kept(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("\nimg/a.jpg 1\n   \n\nimg/b.jpg 0\n\n")
    lst = read_list(path)
    assert lst.items == ("img/a.jpg", "img/b.jpg")
    assert lst.labels.tolist() == [1, 0]
    assert lst.line_numbers == (2, 5)
    assert lst.line_of(1) == 5
    assert lst.class_counts(3).tolist() == [1, 1, 0]


def test_line_of_without_parsed_line_numbers_is_the_position():
    assert _list(["a", "b", "c"], [0, 0, 1]).line_of(2) == 3


def test_empty_file_is_an_empty_list(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n")
    lst = read_list(path)
    assert len(lst) == 0
    assert lst.labels.dtype == np.int64


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ("img/c.jpg", "no label"),
        ("img/c.jpg x3", "label 'x3' is not an integer"),
        ("img/c.jpg 1.5", "label '1.5' is not an integer"),
        ("img/c.jpg -2", "label -2 is negative"),
        ("7", "no label"),
    ],
)
def test_read_list_errors_name_file_and_line(tmp_path, bad_line, fragment):
    path = tmp_path / "bad_list.txt"
    path.write_text(f"img/a.jpg 0\n\n{bad_line}\nimg/d.jpg 1\n")
    with pytest.raises(DataError) as info:
        read_list(path)
    message = str(info.value)
    assert f"{path}, line 3:" in message
    assert fragment in message


def test_read_list_num_classes_check_names_the_first_bad_line(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("a 0\n\nb 4\nc 5\nd 9\n")
    assert read_list(path, num_classes=10).labels.tolist() == [0, 4, 5, 9]
    with pytest.raises(DataError) as info:
        read_list(path, num_classes=5)
    message = str(info.value)
    assert f"{path}, line 4:" in message
    assert "label 5" in message
    assert "(5)" in message
    assert "2 line(s)" in message


def test_check_labels_on_an_unparsed_list_uses_positions():
    with pytest.raises(DataError, match=r"src, line 2: label 3 is not below the number of classes \(3\)"):
        check_labels(_list(["a", "b"], [2, 3]), 3, "src")
    check_labels(_list(["a", "b"], [2, 1]), 3, "src")  # fine


def test_read_list_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_list(tmp_path / "nope.txt")


# --- resolve_paths -----------------------------------------------------------------------------


@pytest.fixture
def image_root(tmp_path):
    root = tmp_path / "root"
    (root / "train" / "cat").mkdir(parents=True)
    (root / "train" / "cat" / "0.png").write_bytes(b"x")
    (tmp_path / "outside.png").write_bytes(b"x")
    return root


def test_resolve_paths_good_path_is_inside_root(image_root):
    lst = parse_list("train/cat/0.png 0\n", "good.txt")
    (path,) = resolve_paths(image_root, lst, "good.txt")
    assert path == (image_root / "train" / "cat" / "0.png").resolve()
    assert path.is_relative_to(image_root.resolve())


@pytest.mark.parametrize("item", ["/etc/passwd", "../outside.png", "train/../../outside.png"])
def test_resolve_paths_rejects_escaping_paths(image_root, item):
    lst = parse_list(f"train/cat/0.png 0\n{item} 0\n", "lst.txt")
    with pytest.raises(DataError) as info:
        resolve_paths(image_root, lst, "lst.txt")
    assert "lst.txt, line 2:" in str(info.value)
    assert "escapes the image root" in str(info.value)


def test_resolve_paths_missing_image_names_the_line(image_root):
    lst = parse_list("train/cat/0.png 0\n\ntrain/cat/1.png 0\n", "lst.txt")
    with pytest.raises(DataError) as info:
        resolve_paths(image_root, lst, "lst.txt")
    assert "lst.txt, line 3:" in str(info.value)
    assert "1.png does not exist" in str(info.value)
    # without the existence check the path is returned anyway
    paths = resolve_paths(image_root, lst, "lst.txt", check_exists=False)
    assert paths[1] == image_root.resolve() / "train" / "cat" / "1.png"
