"""List files in the ImageNet-LT format: one ``<item> <label>`` per line.

``item`` is a path relative to an image root (file datasets) or an index into an official array
(CIFAR). Every problem is reported with the file and the 1-based line number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from longtail_lab.data.arrays import DataError


@dataclass(frozen=True)
class LabelList:
    items: tuple[str, ...]
    labels: np.ndarray  # int64 [N]
    line_numbers: tuple[int, ...] = ()  # 1-based line of each entry in its source file, if parsed

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
    spaces (the reference's ``line.split()`` would cut them). Bad lines are left out of the list.
    """
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
        try:
            value = int(label)
        except ValueError:
            problems.append(ListProblem(source, number, f"label {label!r} is not an integer"))
            continue
        if value < 0:
            problems.append(ListProblem(source, number, f"label {value} is negative"))
            continue
        items.append(item.strip())
        labels.append(value)
        lines.append(number)
    return LabelList(tuple(items), np.asarray(labels, dtype=np.int64), tuple(lines)), problems


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
    parsed = parse_list(path.read_text(), str(path))
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
    """Absolute paths of ``lst``'s items under ``root``; absolute items or ones escaping ``root`` are errors."""
    root = Path(root).resolve()
    paths = []
    for pos, item in enumerate(lst.items):
        rel = PurePosixPath(item)
        if rel.is_absolute() or ".." in rel.parts:
            raise DataError(f"{source}, line {lst.line_of(pos)}: path {item!r} escapes the image root {root}")
        path = root.joinpath(*rel.parts)
        if check_exists and not path.is_file():
            raise DataError(f"{source}, line {lst.line_of(pos)}: image {path} does not exist")
        paths.append(path)
    return paths
