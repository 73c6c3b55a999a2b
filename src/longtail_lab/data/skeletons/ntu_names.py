"""Skeleton sample-name lists (NTU RGB+D 60/120, NW-UCLA) and the BRL long-tailed subsets.

List format (firework8/BRL ``data/``): one sample name per line, no trailing newline after the last
name. Reading tolerates a trailing newline, ``\\r\\n`` line ends and blank lines; writing produces the
official form, so a regenerated list is byte-identical to an official one.

Names and labels:
- NTU: ``SsssCcccPpppRrrrAaaa`` (setup, camera, performer, replication, action), label = action - 1.
- NW-UCLA: ``aAA_sSS_eEE_vVV`` (action, subject, episode, view); the ten actions a01-a06, a08, a09,
  a11, a12 map to labels 0-9 in that order.

Every bad name is an error naming the file and the 1-based line; digits are ASCII only (``ntu_fields``). A
leading UTF-8 byte-order mark is stripped with a warning; an empty full training list is an error.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from longtail_lab.data.lists.format import BOM, LabelList
from longtail_lab.data.lists.long_tail import class_profile, select_per_class
from longtail_lab.data.skeletons.ntu_fields import FIELDS_OF, NWUCLA_NUM_CLASSES, ntu_labels_fast, nwucla_fields
from longtail_lab.data.skeletons.ntu_fields import NtuName as NtuName  # re-exported: the name fields live in ntu_fields
from longtail_lab.data.skeletons.ntu_fields import ntu_fields as ntu_fields
from longtail_lab.errors import DataError
from longtail_lab.params import MAX_CLASSES, MAX_SEED, ParamBlock, Problems, setting

log = logging.getLogger(__name__)

DATASETS = ("ntu", "nwucla")
SHORT_CLASS_MODES = ("error", "keep_all")
PROFILE_TAGS = {"exponential": "exp", "step": "step"}


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise DataError(f"unknown sample-name dataset {dataset!r}; choose one of {DATASETS}")


@dataclass(frozen=True, eq=False)
class SampleNames(LabelList):
    """A ``LabelList`` whose items are sample names (labels derived from the names), with the dataset the
    names belong to and where they came from."""

    dataset: str = "ntu"
    source: str = "<names>"
    file_sha256: str | None = None  # sha256 of the file bytes, if read from a file

    @property
    def names(self) -> tuple[str, ...]:
        return self.items

    def text(self) -> str:
        return format_names(self.names)

    def content_sha256(self) -> str:
        """sha256 of the official file form (names joined by newlines, no trailing newline)."""
        return hashlib.sha256(self.text().encode()).hexdigest()

    def subset(self, indices: np.ndarray, source: str | None = None) -> SampleNames:
        indices = np.asarray(indices, dtype=np.int64)
        return SampleNames(
            tuple(self.names[i] for i in indices.tolist()),
            self.labels[indices],
            dataset=self.dataset,
            source=source or self.source,
        )


def names_from_sequence(names, dataset: str = "ntu", source: str = "<names>") -> SampleNames:
    """Validate an in-memory sequence of names (e.g. what a node built) into ``SampleNames``."""
    return parse_names("\n".join(names), dataset=dataset, source=source)


def parse_names(text: str, dataset: str = "ntu", source: str = "<names>", num_classes: int | None = None):
    """Parse list text; blank lines are skipped, a malformed or repeated name is an error with its line.

    NTU lists are checked in one vectorised pass; the per-line path runs for NW-UCLA and to locate
    the first bad line when the fast pass finds a problem.
    """
    _check_dataset(dataset)
    stripped = [raw.strip() for raw in text.split("\n")]
    lines = [number for number, name in enumerate(stripped, start=1) if name]
    names = [stripped[number - 1] for number in lines]
    labels = ntu_labels_fast(names) if dataset == "ntu" else None
    if labels is None:
        labels = _labels_per_line(names, lines, dataset, source)
    parsed = SampleNames(tuple(names), labels, tuple(lines), dataset=dataset, source=source)
    if num_classes is not None:
        check_num_classes(parsed, num_classes)
    return parsed


def _labels_per_line(names: list[str], lines: list[int], dataset: str, source: str) -> np.ndarray:
    fields_of = FIELDS_OF[dataset]
    labels = np.empty(len(names), dtype=np.int64)
    first_line: dict[str, int] = {}
    for i, (name, number) in enumerate(zip(names, lines, strict=True)):
        try:
            labels[i] = fields_of(name).label
        except ValueError as exc:
            raise DataError(f"{source}, line {number}: {exc}") from None
        if name in first_line:
            raise DataError(f"{source}, line {number}: {name} repeats line {first_line[name]}")
        first_line[name] = number
    return labels


def read_names(path: str | Path, dataset: str = "ntu", num_classes: int | None = None) -> SampleNames:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: name list does not exist")
    data = body = path.read_bytes()
    if body.startswith(BOM.encode()):
        log.warning("%s: starts with a UTF-8 byte-order mark (BOM); it was ignored", path)
        body = body[len(BOM.encode()) :]
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not an ASCII sample-name list") from None
    parsed = parse_names(text, dataset, str(path), num_classes)
    return SampleNames(
        parsed.names,
        parsed.labels,
        parsed.line_numbers,
        dataset=dataset,
        source=str(path),
        file_sha256=hashlib.sha256(data).hexdigest(),
    )


def format_names(names) -> str:
    """Official list form: names joined by ``\\n`` with no trailing newline."""
    return "\n".join(names)


def _key(block: str, name: str) -> str:
    """The full name of parameter ``name`` of the block ``block`` (e.g. ``ntu120_xsub.ntu_lt``)."""
    return f"{block}.{name}" if block else name


def check_num_classes(names: SampleNames, num_classes: int, block: str = "") -> None:
    """Every label must be below ``num_classes`` (e.g. NTU-60 lists hold actions A001-A060 only);
    ``block`` names the parameter block in messages (e.g. ``nwucla.ntu_lt``)."""
    if names.dataset == "nwucla" and num_classes != NWUCLA_NUM_CLASSES:
        raise DataError(
            f"parameter '{_key(block, 'num_classes')}': NW-UCLA has {NWUCLA_NUM_CLASSES} classes, got {num_classes}"
        )
    bad = np.flatnonzero(names.labels >= num_classes)
    if bad.size:
        pos = int(bad[0])
        raise DataError(
            f"{names.source}, line {names.line_of(pos)}: {names.names[pos]} has label {int(names.labels[pos])}, "
            f"not below {_key(block, 'num_classes')}={num_classes} ({bad.size} name(s) affected)"
        )


def list_name(prefix: str, profile: str, imbalance_ratio: float, block: str = "") -> str:
    """Official file stem, e.g. ``NTU120_xsub_exp_100`` (``step`` for the step profile)."""
    if profile not in PROFILE_TAGS:
        raise DataError(
            f"parameter '{_key(block, 'profile')}': unknown profile {profile!r}; choose one of {tuple(PROFILE_TAGS)}"
        )
    return f"{prefix}_{PROFILE_TAGS[profile]}_{imbalance_ratio:g}"


def filter_views(names: SampleNames, views) -> tuple[SampleNames, int]:
    """NW-UCLA: keep the names recorded from ``views`` (BRL trains on v01 + v02) -> (kept, dropped count)."""
    views = {int(v) for v in views}
    keep = np.asarray([nwucla_fields(n).view in views for n in names.names], dtype=bool)
    kept = SampleNames(
        tuple(n for n, k in zip(names.names, keep.tolist(), strict=True) if k),
        names.labels[keep],
        tuple(line for line, k in zip(names.line_numbers, keep.tolist(), strict=False) if k),
        dataset=names.dataset,
        source=names.source,
        file_sha256=names.file_sha256,
    )
    return kept, int((~keep).sum())


def long_tail_names(
    full: SampleNames,
    num_classes: int,
    profile: str,
    imbalance_ratio: float,
    n_max: int,
    seed: int = 0,
    short_classes: str = "error",
    block: str = "",
) -> tuple[SampleNames, dict]:
    """BRL ``imblance_gentxt`` selection -> (long-tailed names, info).

    Per-class targets from ``class_profile`` (class 0 = action 1 is the head); the numpy legacy RNG is
    seeded once, then for each class in label order its names in file order are shuffled and the first
    n kept. Reproduces the six official NTU-120 lists exactly from the official full training lists.

    A class with fewer names than its target is an error by default (``short_classes='error'``);
    ``'keep_all'`` is the official behaviour (all of its names are kept, the RNG stream is unchanged),
    and the info lists those classes either way. ``block`` names the parameter block in messages.
    """
    if short_classes not in SHORT_CLASS_MODES:
        raise DataError(
            f"parameter '{_key(block, 'short_classes')}': {short_classes!r} is not one of {SHORT_CLASS_MODES}"
        )
    check_num_classes(full, num_classes, block)
    requested = class_profile(profile, num_classes, imbalance_ratio, n_max)
    available = full.class_counts(num_classes)
    short = np.flatnonzero(available < requested)
    if short.size and short_classes == "error":
        details = ", ".join(f"label {c}: {available[c]} < {requested[c]}" for c in short[:10].tolist())
        raise DataError(
            f"{full.source}: {short.size} class(es) have fewer names than the profile asks for "
            f"(imbalance_ratio={imbalance_ratio:g}, n_max={n_max}): {details}; lower {_key(block, 'n_max')}, or "
            f"set {_key(block, 'short_classes')}: keep_all to keep all their names (the official behaviour)"
        )
    counts = np.minimum(requested, available)
    picked = select_per_class(full.labels, counts, seed, block)
    info = {
        "requested_counts": requested.tolist(),
        "short_classes": short.tolist(),
    }
    return full.subset(picked), info


def validate_long_tail_list(
    given: SampleNames, full: SampleNames, expected_counts: np.ndarray, block: str = ""
) -> dict:
    """Check a given (official) long-tailed list against its full list and the count profile.

    Errors (naming the file and line): a name not in the full list, per-class counts that differ
    from ``expected_counts``. Duplicates are already rejected when parsing. Returns the checks.
    """
    known = set(full.names)
    for pos, name in enumerate(given.names):
        if name not in known:
            raise DataError(f"{given.source}, line {given.line_of(pos)}: {name} is not in the full list {full.source}")
    expected = np.asarray(expected_counts)
    check_num_classes(given, len(expected), block)
    counts = given.class_counts(len(expected))
    diff = np.flatnonzero(counts != expected)
    if diff.size:
        c = int(diff[0])
        raise DataError(
            f"{given.source}: label {c} has {int(counts[c])} names but the profile gives {int(expected[c])} "
            f"({diff.size} class(es) differ; total {len(given)} vs {int(expected.sum())}); check "
            f"{_key(block, 'imbalance_ratios')} / {_key(block, 'n_max')} / {_key(block, 'num_classes')}"
        )
    return {
        "names_in_full_list": True,
        "duplicates": 0,
        "counts_match_profile": True,
        "grouped_by_class": bool((np.diff(given.labels) >= 0).all()),
    }


def compare_lists(a: SampleNames, b: SampleNames) -> dict:
    """How two lists relate: identical (same names, same order), and how many names they share."""
    return {
        "sha256": b.content_sha256(),
        "identical": a.names == b.names,
        "shared_names": len(set(a.names) & set(b.names)),
    }


@dataclass(frozen=True, kw_only=True)
class LongTailListsParams(ParamBlock):
    """How the long-tailed lists of one benchmark split are made (``long_tail_lists``; the ``ntu_lt`` key of
    an ``ntu_lt`` namespace). Ratios written as integers stay integers (they appear in the summary)."""

    num_classes: int = setting(ge=1, le=MAX_CLASSES)
    imbalance_ratios: tuple[int | float, ...] = setting(ge=1)  # one list per ratio, <list_prefix>_exp_<ratio>
    n_max: int = setting(ge=1)
    list_prefix: str
    profile: Literal["exponential", "step"] = "exponential"  # PROFILE_TAGS
    seed: int = setting(0, ge=0, le=MAX_SEED)
    short_classes: Literal["error", "keep_all"] = "error"  # SHORT_CLASS_MODES
    use_official_lists: bool = False
    views: tuple[int, ...] | None = None  # NW-UCLA only: keep the names of these views

    def cross_check(self, prefix: str) -> Problems:
        key = f"{prefix}.imbalance_ratios"
        if not self.imbalance_ratios:
            return [(key, "must list at least one ratio, got []")]
        names = [list_name(self.list_prefix, self.profile, r) for r in self.imbalance_ratios]
        twice = [r for r, name in zip(self.imbalance_ratios, names, strict=True) if names.count(name) > 1]
        if twice:
            return [(key, f"lists a ratio twice ({twice}), got {list(self.imbalance_ratios)}")]
        for ratio in self.imbalance_ratios:  # no class may get 0 names
            try:
                class_profile(self.profile, self.num_classes, ratio, self.n_max)
            except DataError as exc:
                return [(key, f"does not fit: {exc}")]
        return []

    def kwargs(self) -> dict:
        """Keyword arguments of ``long_tail_lists`` (lists for tuples)."""
        return self.to_dict()


def long_tail_lists(
    full: SampleNames,
    official: dict[str, SampleNames],
    *,
    num_classes: int,
    imbalance_ratios,
    n_max: int,
    list_prefix: str,
    profile: str = "exponential",
    seed: int = 0,
    short_classes: str = "error",
    use_official_lists: bool = False,
    views=None,
    block: str = "",
) -> tuple[dict[str, SampleNames], dict]:
    """All long-tailed lists of one benchmark split -> ({list name: names}, summary).

    ``use_official_lists=False``: each list is made by ``long_tail_names`` (the BRL procedure); an
    official list of the same name in ``official`` is compared with it (``identical``, shared names).
    ``use_official_lists=True``: the official lists are consumed as given, after validation against
    the full list and the count profile, and the procedure's list is reported beside them. This is
    the right choice for NTU-60, whose official lists the procedure does not reproduce (the counts
    match, the membership does not). ``views`` (NW-UCLA) keeps only names from those views; the
    number dropped is reported. ``block`` names the parameter block in messages (``ntu120_xsub.ntu_lt``).
    """
    if not isinstance(imbalance_ratios, list | tuple) or not imbalance_ratios:
        raise DataError(
            f"parameter '{_key(block, 'imbalance_ratios')}' must be a non-empty list, got {imbalance_ratios!r}"
        )
    check_num_classes(full, num_classes, block)
    dropped = 0
    if views is not None:
        if full.dataset != "nwucla":
            raise DataError(f"parameter '{_key(block, 'views')}' applies to NW-UCLA only; set it to null")
        full, dropped = filter_views(full, views)
    if len(full) == 0:
        kept = f" from the views {_key(block, 'views')}={list(views)}" if views is not None else ""
        raise DataError(f"{full.source}: the full training list has no names{kept}; nothing to draw lists from")
    available = full.class_counts(num_classes)
    summary = {
        "dataset": full.dataset,
        "list_prefix": list_prefix,
        "num_classes": num_classes,
        "profile": profile,
        "n_max": n_max,
        "seed": seed,
        "short_classes": short_classes,
        "use_official_lists": use_official_lists,
        "source": {
            "file": full.source,
            "sha256": full.file_sha256,
            "names": len(full),
            "dropped_by_view": dropped,
            "class_counts": available.tolist(),
        },
        "lists": {},
    }
    lists: dict[str, SampleNames] = {}
    for ratio in imbalance_ratios:
        name = list_name(list_prefix, profile, ratio, block)
        if name in lists:
            raise DataError(f"parameter '{_key(block, 'imbalance_ratios')}': {ratio!r} is listed twice")
        mode = "keep_all" if use_official_lists else short_classes  # the procedure is only compared then
        generated, info = long_tail_names(full, num_classes, profile, ratio, n_max, seed, mode, block)
        given = official.get(name)
        entry: dict = {"imbalance_ratio": ratio}
        if use_official_lists:
            if given is None:
                raise DataError(
                    f"parameter '{_key(block, 'use_official_lists')}' is true but the official list {name}.txt was "
                    f"not found "
                    f"(found: {sorted(official) or 'nothing'}); put the official lists in the raw folder "
                    f"(e.g. data/01_raw/ntu/NTU60_LT/ from firework8/BRL data/NTU60_LT/), or set "
                    f"{_key(block, 'use_official_lists')}: false to generate them with the BRL procedure"
                )
            check_num_classes(given, num_classes, block)
            entry["validation"] = validate_long_tail_list(given, full, info["requested_counts"], block)
            entry.update(origin="official", file=given.source, procedure=compare_lists(given, generated))
            chosen = given
        else:
            entry.update(origin="procedure", short_classes=info["short_classes"])
            if given is not None:
                entry["official"] = {"file": given.source, **compare_lists(generated, given)}
            chosen = generated
        counts = chosen.class_counts(num_classes)
        entry.update(
            total=len(chosen),
            class_counts=counts.tolist(),
            requested_counts=info["requested_counts"],
            head_count=int(counts[0]),
            tail_count=int(counts[-1]),
            max_count=int(counts.max()),
            min_count=int(counts.min()),
            sha256=chosen.content_sha256(),
        )
        summary["lists"][name] = entry
        lists[name] = chosen
    summary["official_lists_unused"] = sorted(set(official) - set(lists))
    return lists, summary
