"""List files in the ImageNet-LT format: one ``<item> <label>`` per line.

``item`` is a path relative to an image root (file datasets) or an index into an official array
(CIFAR). Every problem is reported with the file and the 1-based line number.

Labels are plain ASCII digits up to ``MAX_LABEL`` (``int()`` would also take ``1_0``, ``+1`` or other
scripts' digits). A UTF-8 byte-order mark at the start of a file (Windows editors write one) is stripped,
with a warning naming the file, so that it neither hides inside the first item nor makes its image missing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from longtail_lab.data.lists.paths import RootGuard
from longtail_lab.errors import DataError

log = logging.getLogger(__name__)

MAX_LABEL = 2**31 - 1  # far above any class count; keeps every label an int32 / int64 without overflow
BOM = "\ufeff"


def parse_label(text: str, what: str = "label") -> int:
    """A non-negative integer written as plain ASCII digits; ``ValueError`` (no location) otherwise."""
    if text.isascii() and text.isdigit():
        if len(text) > 10 or int(text) > MAX_LABEL:
            raise ValueError(f"{what} {text} is too large (at most {MAX_LABEL})")
        return int(text)
    if text[:1] == "-" and text[1:].isascii() and text[1:].isdigit():
        raise ValueError(f"{what} {text} is negative")
    try:
        int(text)  # what Python would read (1_0, +1, other scripts' digits) is named as such
    except ValueError:
        raise ValueError(f"{what} {text!r} is not an integer") from None
    raise ValueError(f"{what} {text!r} is not an integer (ASCII digits 0-9 only)")


@dataclass(frozen=True)
class LabelList:
    items: tuple[str, ...]
    labels: np.ndarray  # int64 [N]
    line_numbers: tuple[int, ...] = ()  # 1-based line of each entry in its source file, if parsed
    source: str = ""  # the file (or text) it was parsed from, for messages; "" when built in memory

    def __len__(self) -> int:
        return len(self.items)

    def line_of(self, position: int) -> int:
        return self.line_numbers[position] if self.line_numbers else position + 1

    def class_counts(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.labels, minlength=num_classes)

    def content_hash(self) -> str:
        return hashlib.sha256(format_list(self).encode()).hexdigest()


@dataclass(frozen=True)
class ListFolder:
    """The raw list files of one dataset (file stem -> text) and the image root their items live under."""

    texts: dict[str, str]
    sources: dict[str, str]  # file stem -> the file's path, for messages
    image_root: Path | None = None


@dataclass(frozen=True)
class ListProblem:
    """One bad line of a list file (``line`` is 1-based)."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}, line {self.line}: {self.message}"


def scan_list(text: str, source: str = "<list>") -> tuple[LabelList, list[ListProblem]]:
    """Parse list-file text, collecting every malformed line instead of stopping at the first.

    Blank lines are skipped. The item is everything before the last space, so paths may contain
    spaces (the reference's ``line.split()`` would cut them). Bad lines are left out of the list. A leading
    byte-order mark is stripped with a warning (see the module docstring).
    """
    if text.startswith(BOM):
        log.warning("%s: starts with a UTF-8 byte-order mark (BOM); it was ignored", source)
        text = text[len(BOM) :]
    items: list[str] = []
    labels: list[int] = []
    lines: list[int] = []
    problems: list[ListProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        item, sep, label = line.rpartition(" ")
        if not sep or not item.strip():
            problems.append(ListProblem(source, number, f"expected '<item> <label>', got {line!r} (no label)"))
            continue
        try:  # the fast path: at most 9 ASCII digits is always a valid label
            value = int(label) if len(label) < 10 and label.isascii() and label.isdigit() else parse_label(label)
        except ValueError as exc:
            problems.append(ListProblem(source, number, str(exc)))
            continue
        items.append(item.strip())
        labels.append(value)
        lines.append(number)
    return LabelList(tuple(items), np.asarray(labels, dtype=np.int64), tuple(lines), source), problems


def parse_list(text: str, source: str = "<list>") -> LabelList:
    """Parse list-file text; blank lines are skipped, the first malformed line is an error."""
    parsed, problems = scan_list(text, source)
    if problems:
        more = f" ({len(problems) - 1} more bad line(s))" if len(problems) > 1 else ""
        raise DataError(f"{problems[0]}{more}")
    return parsed


def read_list(path: str | Path, num_classes: int | None = None) -> LabelList:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: list file does not exist")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    parsed = parse_list(text, str(path))
    if num_classes is not None:
        check_labels(parsed, num_classes, str(path))
    return parsed


def check_labels(lst: LabelList, num_classes: int, source: str = "<list>") -> None:
    bad = np.flatnonzero(lst.labels >= num_classes)
    if bad.size:
        pos = int(bad[0])
        raise DataError(
            f"{source}, line {lst.line_of(pos)}: label {int(lst.labels[pos])} is not below the number of "
            f"classes ({num_classes}); {bad.size} line(s) affected"
        )


def format_list(lst: LabelList) -> str:
    return "".join(f"{item} {label}\n" for item, label in zip(lst.items, lst.labels.tolist(), strict=True))


def resolve_paths(root: str | Path, lst: LabelList, source: str = "<list>", check_exists: bool = True):
    """Absolute paths of ``lst``'s items under ``root``; absolute items, ones escaping ``root`` and ones that
    leave it through a symlink are errors."""
    guard = RootGuard(root)
    root = guard.root
    paths = []
    for pos, item in enumerate(lst.items):
        rel = PurePosixPath(item)
        if rel.is_absolute() or ".." in rel.parts:
            raise DataError(f"{source}, line {lst.line_of(pos)}: path {item!r} escapes the image root {root}")
        path = root.joinpath(*rel.parts)
        real = guard.outside("/".join(rel.parts))
        if real is not None:
            raise DataError(
                f"{source}, line {lst.line_of(pos)}: path {item!r} leads outside the image root {root} through a "
                f"symlink (to {real})"
            )
        if check_exists and not path.is_file():
            raise DataError(f"{source}, line {lst.line_of(pos)}: image {path} does not exist")
        paths.append(path)
    return paths
