"""List-file inputs that used to crash without a location or pass when they should not: huge or non-plain
labels, a UTF-8 byte-order mark, symlinks out of the image root, unnormalised duplicates, empty lists."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from longtail_lab.data.images.arrays import ImageArrays
from longtail_lab.data.lists.checks import check_list
from longtail_lab.data.lists.format import LabelList, parse_list, read_list, resolve_paths, scan_list
from longtail_lab.data.lists.splits import long_tail_from_list, select_split
from longtail_lab.data.lists.splits import test_agnostic_lists as agnostic_lists
from longtail_lab.errors import DataError
from tests.list_fixtures import write_pngs


@pytest.fixture
def root(tmp_path):
    root = write_pngs(tmp_path / "images")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(outside / "x.png")
    (root / "a" / "link.png").symlink_to(outside / "x.png")  # a file link out of the root
    (root / "c").symlink_to(outside)  # a folder link out of the root
    (root / "a" / "inner.png").symlink_to(root / "b" / "2.png")  # a link that stays inside: fine
    return root


# --- labels -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "fragment"),
    [
        ("99999999999999999999", "label 99999999999999999999 is too large (at most 2147483647)"),
        ("2147483648", "label 2147483648 is too large"),
        ("0_0", "label '0_0' is not an integer (ASCII digits 0-9 only)"),
        ("1_0", "label '1_0' is not an integer"),
        ("+1", "label '+1' is not an integer"),
        ("\u0661", "label '\u0661' is not an integer"),  # ARABIC-INDIC DIGIT ONE, which int() reads as 1
        ("\uff11", "label '\uff11' is not an integer"),  # FULLWIDTH DIGIT ONE
    ],
)
def test_labels_are_plain_ascii_digits_of_a_sane_size(tmp_path, label, fragment):
    path = tmp_path / "lst.txt"
    path.write_text(f"a/0.png 0\na/1.png {label}\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_list(path)
    assert str(info.value).startswith(f"{path}, line 2: {fragment}")
    lst, problems = scan_list(path.read_text(encoding="utf-8"), str(path))
    assert lst.items == ("a/0.png",) and [(p.source, p.line) for p in problems] == [(str(path), 2)]


def test_the_largest_allowed_label_still_parses():
    assert parse_list("a 2147483647\nb 007\n").labels.tolist() == [2147483647, 7]


# --- byte-order mark ----------------------------------------------------------------------------------
def test_a_utf8_bom_is_stripped_and_reported(root, caplog):
    text = "\ufeffa/0.png 0\na/1.png 1\n"
    with caplog.at_level(logging.WARNING):
        lst, problems = scan_list(text, "bom.txt")
    assert lst.items == ("a/0.png", "a/1.png") and problems == []
    assert "bom.txt: starts with a UTF-8 byte-order mark (BOM); it was ignored" in caplog.text
    assert check_list(lst, "bom.txt", 3, root, check_files=True) == []


def test_read_list_strips_the_bom_of_a_file_saved_with_one(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfa/0.png 0\n")
    assert read_list(path).items == ("a/0.png",)


# --- paths: symlinks and normalisation -----------------------------------------------------------------
def test_symlinks_that_leave_the_image_root_are_problems(root):
    text = "a/0.png 0\na/link.png 1\nc/x.png 1\na/inner.png 2\n"
    lst, _ = scan_list(text, "lst.txt")
    found = [(p.line, p.message) for p in check_list(lst, "lst.txt", 3, root, check_files=True, decode=True)]
    elsewhere = (root.parent / "elsewhere" / "x.png").resolve()
    assert found == [
        (2, f"path 'a/link.png' leads outside the image root {root} through a symlink (to {elsewhere})"),
        (3, f"path 'c/x.png' leads outside the image root {root} through a symlink (to {elsewhere})"),
    ]


def test_resolve_paths_refuses_symlinks_out_of_the_root(root):
    for line in ("a/link.png 1", "c/x.png 1"):
        lst = parse_list(f"a/0.png 0\n{line}\n", "lst.txt")
        with pytest.raises(DataError, match=r"^lst\.txt, line 2: path '.+' leads outside the image root .+ symlink"):
            resolve_paths(root, lst, "lst.txt")
    inner = resolve_paths(root, parse_list("a/inner.png 2\n", "lst.txt"), "lst.txt")
    assert inner == [root.resolve() / "a" / "inner.png"]


def test_duplicates_are_found_after_normalising_the_path(root):
    lst, _ = scan_list("a/0.png 0\na/./0.png 0\na//0.png 0\n./a/0.png 0\nb/../a/1.png 1\n", "lst.txt")
    found = [(p.line, p.message) for p in check_list(lst, "lst.txt", 3)]
    assert found == [
        (2, "item 'a/./0.png' repeats line 1 ('a/0.png')"),
        (3, "item 'a//0.png' repeats line 1 ('a/0.png')"),
        (4, "item './a/0.png' repeats line 1 ('a/0.png')"),
        (5, "path 'b/../a/1.png' is absolute or leaves the image root"),
    ]


# --- empty lists ----------------------------------------------------------------------------------------
def _arrays(labels):
    labels = np.asarray(labels, dtype=np.int64)
    return ImageArrays(np.zeros((len(labels), 2, 2, 3), np.uint8), labels, ("a", "b"))


def test_an_empty_training_list_is_refused_naming_its_file(tmp_path):
    path = tmp_path / "split_list.txt"
    path.write_text("\n")
    empty = read_list(path)
    assert empty.source == str(path)
    with pytest.raises(DataError, match=rf"^{path}: the training list has no entries"):
        select_split(_arrays([0, 1]), empty, "cifar10")
    with pytest.raises(DataError, match=r"^split_list: the training list has no entries"):
        select_split(_arrays([0, 1]), LabelList((), np.zeros(0, np.int64)), "cifar10")
    with pytest.raises(DataError, match=rf"^{path}: the source list has no entries"):
        long_tail_from_list(empty, 2, "exponential", 2.0, None, 0)


def test_test_agnostic_lists_refuse_to_rank_on_all_zero_training_counts():
    test = LabelList(("a", "b"), np.array([0, 1]))
    with pytest.raises(DataError, match=r"training class counts are all zero .*empty training list"):
        agnostic_lists(test, np.zeros(2, dtype=np.int64), [2.0], 1, 0)
