"""Validation of list files: every problem found, each with its file and line."""

from __future__ import annotations

import pytest

from longtail_lab.data.lists.checks import check_list, problems_table
from longtail_lab.data.lists.format import scan_list
from tests.list_fixtures import write_pngs


@pytest.fixture
def root(tmp_path):
    root = write_pngs(tmp_path / "images")
    (root / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "a" / "sub").mkdir()  # a folder is not an image
    (tmp_path / "outside.png").write_bytes(b"x")
    return root


def _messages(problems):
    return [(p.line, p.message) for p in problems]


def test_scan_list_collects_every_malformed_line_and_keeps_the_good_ones():
    text = "a/0.png 0\nno_label\n\na/1.png x\nb/2.png -1\nwith space/3.png 2\n"
    lst, problems = scan_list(text, "lst.txt")
    assert lst.items == ("a/0.png", "with space/3.png")
    assert lst.labels.tolist() == [0, 2]
    assert lst.line_numbers == (1, 6)
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [(2, "expected"), (4, "label"), (5, "label")]
    assert str(problems[1]) == "lst.txt, line 4: label 'x' is not an integer"


def test_valid_list_has_no_problems(root):
    lst, _ = scan_list("a/0.png 0\na/1.png 1\nb/2.png 2\n", "ok.txt")
    assert check_list(lst, "ok.txt", 3, root, check_files=True, decode=True) == []


def test_every_kind_of_problem_is_reported_with_its_line(root):
    text = "\n".join(
        [
            "a/0.png 0",  # 1 fine
            "a/1.png 7",  # 2 label out of range
            "a/0.png 1",  # 3 duplicate of line 1
            "../outside.png 0",  # 4 escapes the root
            "/etc/passwd 0",  # 5 absolute
            "a/missing.png 1",  # 6 missing file
            "nofolder/x.png 1",  # 7 missing folder
            "a/sub 1",  # 8 a folder, not a file
            "b/broken.png 2",  # 9 does not decode
        ]
    )
    lst, parse_problems = scan_list(text, "bad.txt")
    assert parse_problems == []
    problems = check_list(lst, "bad.txt", 3, root, check_files=True, decode=True)
    found = _messages(problems)
    assert [line for line, _ in found] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "label 7 is not below the number of classes (3)" in found[0][1]
    assert "repeats line 1" in found[1][1]
    assert "leaves the image root" in found[2][1] and "leaves the image root" in found[3][1]
    assert all("does not exist" in message for _, message in found[4:7])
    assert str(root / "a" / "missing.png") in found[4][1]
    assert "does not decode" in found[7][1]
    table = problems_table(problems)
    assert table.columns.tolist() == ["source", "line", "problem"]
    assert table["line"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9]
    assert set(table["source"]) == {"bad.txt"}


def test_without_file_checks_only_the_text_is_validated(root):
    lst, _ = scan_list("a/missing.png 0\n../x.png 1\n", "lst.txt")
    found = _messages(check_list(lst, "lst.txt", 3, root, check_files=False))
    assert [line for line, _ in found] == [2]


def test_decode_without_existence_still_reports_missing_files(root):
    lst, _ = scan_list("a/missing.png 0\nb/broken.png 1\n", "lst.txt")
    found = _messages(check_list(lst, "lst.txt", 3, root, check_files=False, decode=True))
    assert [line for line, _ in found] == [1, 2]


def test_missing_image_root_is_one_problem(tmp_path):
    lst, _ = scan_list("a/0.png 0\n", "lst.txt")
    (problem,) = check_list(lst, "lst.txt", 3, tmp_path / "nowhere", check_files=True)
    assert "image root" in problem.message and "does not exist" in problem.message


def test_decode_progress_is_reported(root):
    lst, _ = scan_list("a/0.png 0\na/1.png 1\nb/2.png 2\n", "ok.txt")
    calls = []
    check_list(lst, "ok.txt", 3, root, decode=True, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 3)]
