"""Checking a list-file dataset as a whole: a folder of official lists, ``<prefix><name>.txt`` being the list
``<name>`` (``Places_LT_train.txt`` -> ``train``).

Every list is parsed (``format.scan_list``) and checked against the dataset (``checks.check_list``). Strict
checking stops with one error listing the first problems of all lists; otherwise the bad lines are left out
of the lists and counted in the report. A list whose class counts drive a result (training, ranking classes)
must keep at least one entry. Messages name parameters by the full keys the caller passes
(``places_lt.lists.train``, ``places_lt.check``), so they read the same as the parameter check's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from longtail_lab.data.lists.checks import check_list
from longtail_lab.data.lists.format import BOM, LabelList, ListFolder, ListProblem, scan_list
from longtail_lab.errors import DataError
from longtail_lab.params import MAX_CLASSES, ParamBlock, setting

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ListSpec(ParamBlock):
    """Which official list files make the dataset: ``<prefix><name>.txt`` is the list ``<name>``."""

    prefix: str = ""
    num_classes: int = setting(ge=1, le=MAX_CLASSES)
    train: str | None = None  # the training list: class counts, shot groups, frequency ranking
    test: str | None = None


@dataclass(frozen=True, kw_only=True)
class ListCheckParams(ParamBlock):
    """How the list files are validated (``strict``: any problem stops the run)."""

    files: bool = True  # every image named by a list exists under the image root
    decode: bool = False  # every image decodes
    strict: bool = True  # false: bad lines are left out and reported
    workers: int = setting(4, ge=1)  # decoding threads
    max_reported: int = setting(20, ge=0)  # problems listed in the error message


@dataclass(frozen=True)
class CheckedLists:
    """Every list of a folder after the checks (bad lines left out), by short name, and what was found."""

    lists: dict[str, LabelList]
    problems: list[ListProblem]  # of every list, each list's sorted by line
    report: dict  # image_root, files_checked, decoded, lists (per list: file, lines, problems, ...), problems


def short_names(stems: Iterable[str], prefix: str) -> dict[str, str]:
    """File stem -> list name, the stem without ``prefix``; two stems with one name are an error."""
    names = {stem: stem[len(prefix) :] if prefix and stem.startswith(prefix) else stem for stem in stems}
    if len(set(names.values())) < len(names):
        clash = sorted(stem for stem in names if list(names.values()).count(names[stem]) > 1)
        raise DataError(f"list files {clash} get the same name once the prefix {prefix!r} is dropped; remove one")
    return names


def require_lists(available: Iterable[str], wanted: Mapping[str, str], prefix: str) -> None:
    """Every list that ``wanted`` (full parameter key -> list name) names must be among ``available``."""
    available = sorted(available)
    for key, name in wanted.items():
        if name not in available:
            raise DataError(
                f"parameter '{key}': no list named {name!r}; the list folder has "
                f"{available} (file names without the prefix {prefix!r})"
            )


def check_list_folder(
    raw: ListFolder, names: Mapping[str, str], num_classes: int, check: ListCheckParams, check_key: str
) -> CheckedLists:
    """Parse and check every list of ``raw`` (file stem -> name in ``names``) -> the lists, problems and report.

    With ``check.strict`` any problem stops the run with one error listing the first ``check.max_reported``
    of them (``check_key``: the full key of ``check``, e.g. ``places_lt.check``); otherwise the bad lines are
    left out of the lists. A leading UTF-8 byte-order mark is stripped, logged and recorded as
    ``bom_stripped`` in the list's report.
    """
    lists, problems = {}, []
    report = {"image_root": str(raw.image_root), "files_checked": check.files, "decoded": check.decode, "lists": {}}
    for stem, text in raw.texts.items():
        name, source = names[stem], raw.sources[stem]
        lst, found = scan_list(text, source)
        found += check_list(
            lst,
            source,
            num_classes,
            raw.image_root,
            check.files,
            check.decode,
            check.workers,
            progress=lambda done, total, s=source: log.info("%s: decoded %d / %d", s, done, total),
        )
        found.sort(key=lambda problem: problem.line)
        bad_lines = {p.line for p in found}
        lists[name] = without_lines(lst, bad_lines)
        problems += found
        lines = len(lists[name]) + len(bad_lines)
        entry = {"file": source, "lines": lines, "problems": len(found), "lines_left_out": len(bad_lines)}
        if text.startswith(BOM):
            entry["bom_stripped"] = True
        report["lists"][name] = entry
        log.info("%s: %d lines, %d problem(s)", source, lines, len(found))
    if problems and check.strict:
        stop_on_problems(problems, check.max_reported, f"{check_key}.strict")
    report["problems"] = len(problems)
    return CheckedLists(lists, problems, report)


def without_lines(lst: LabelList, lines: set[int]) -> LabelList:
    """``lst`` without the entries parsed from ``lines`` (line numbers and source kept)."""
    if not lines:
        return lst
    keep = [i for i in range(len(lst)) if lst.line_of(i) not in lines]
    kept_lines = tuple(lst.line_of(i) for i in keep)
    return LabelList(tuple(lst.items[i] for i in keep), lst.labels[keep], kept_lines, lst.source)


def stop_on_problems(problems: list[ListProblem], max_reported: int, strict_key: str) -> None:
    """One error listing the first ``max_reported`` problems (and how many more there are)."""
    listing = "\n".join(f"  {p}" for p in problems[:max_reported])
    more = f"\n  ... and {len(problems) - max_reported} more" if len(problems) > max_reported else ""
    raise DataError(f"{len(problems)} problem(s) in the list files ({strict_key}: true):\n{listing}{more}")


def require_entries(checked: CheckedLists, needed: Mapping[str, str]) -> None:
    """Every list that ``needed`` (full parameter key -> list name) trains on or ranks classes by must keep an
    entry; the error names its file and how many bad lines were left out."""
    for key, name in needed.items():
        if len(checked.lists[name]) == 0:
            entry = checked.report["lists"][name]
            left = f" left ({entry['lines_left_out']} bad line(s) left out)" if entry["lines_left_out"] else ""
            raise DataError(
                f"{entry['file']}: the list {name!r} has no entries{left}; parameter '{key}' trains on it or "
                f"ranks the classes by it, which needs at least one image"
            )


def named_list(lists: Mapping[str, LabelList], name: str, key: str) -> LabelList:
    """The list ``name`` that the parameter ``key`` names."""
    if name not in lists:
        raise DataError(f"parameter '{key}': no list named {name!r}; the list folder has {sorted(lists)}")
    return lists[name]


def train_counts(lists: Mapping[str, LabelList], spec: ListSpec, spec_key: str) -> np.ndarray | None:
    """Class counts of the training list (``None`` without one); ``spec_key``: the full key of ``spec``."""
    if spec.train is None:
        return None
    return named_list(lists, spec.train, f"{spec_key}.train").class_counts(spec.num_classes)
