"""Building long-tailed training lists, their summaries, and test-agnostic test lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from longtail_lab.data.images.arrays import ImageArrays
from longtail_lab.data.lists.format import LabelList, check_labels
from longtail_lab.data.lists.long_tail import (
    class_profile,
    select_per_class,
    shot_groups,
    test_agnostic_counts,
    test_agnostic_name,
)
from longtail_lab.errors import DataError
from longtail_lab.params import MAX_SEED, ParamBlock, setting


@dataclass(frozen=True, kw_only=True)
class SplitParams(ParamBlock):
    """How a long-tailed training list is drawn from a balanced training set."""

    profile: Literal["exponential", "step"] = "exponential"
    imbalance_ratio: float = setting(100.0, ge=1)  # rho = n_max / n_min
    n_max: int | None = setting(None, ge=1)  # None: the per-class size of the balanced set
    seed: int = setting(0, ge=0, le=MAX_SEED)


@dataclass(frozen=True, kw_only=True)
class AgnosticListParams(ParamBlock):
    """The test-agnostic distributions (forward-r / uniform / backward-r) drawn from the balanced test set."""

    ratios: tuple[float, ...] = setting((50.0, 25.0, 10.0, 5.0, 2.0), gt=1)
    n_max: int = setting(100, ge=1)  # test images per class at the head
    seed: int = setting(0, ge=0, le=MAX_SEED)


def long_tail_list(
    train: ImageArrays, profile: str, imbalance_ratio: float, n_max: int | None, seed: int, prefix: str = ""
) -> tuple[LabelList, dict]:
    """The long-tailed list (grouped class by class, reference order) and its summary; ``prefix`` names the
    parameter block in error messages."""
    available = train.class_counts()
    n_max = int(available.min()) if n_max is None else int(n_max)
    counts = class_profile(profile, train.num_classes, imbalance_ratio, n_max, prefix)
    kept = select_per_class(train.labels, counts, seed, prefix)
    lst = LabelList(tuple(train.items[i] for i in kept), train.labels[kept].copy())
    params = {"profile": profile, "imbalance_ratio": imbalance_ratio, "n_max": n_max, "seed": seed}
    return lst, split_summary(lst, train.classes, params)


def split_summary(lst: LabelList, classes: Sequence[str], params: dict) -> dict:
    counts = lst.class_counts(len(classes))
    groups = shot_groups(counts)
    return {
        **params,
        "num_classes": len(classes),
        "classes": list(classes),
        "total": int(counts.sum()),
        "class_counts": counts.tolist(),
        "max_count": int(counts.max()),
        "min_count": int(counts.min()),
        "shot_thresholds": {"many": "> 100", "medium": "20-100", "few": "< 20"},
        "shot_groups": groups,
        "shot_group_sizes": {k: len(v) for k, v in groups.items()},
        "content_sha256": lst.content_hash(),
    }


def test_agnostic_lists(
    test: ImageArrays | LabelList,
    train_counts: np.ndarray,
    ratios: Sequence[float],
    n_max: int,
    seed: int,
    factors: dict[str, float] | None = None,
    prefix: str = "",
) -> dict[str, LabelList]:
    """forward-r and backward-r for every r, plus uniform, drawn from the balanced test set.

    Each list re-seeds the legacy numpy RNG with ``seed`` (as the reference builds each test set anew).
    ``factors`` maps a list name (e.g. ``forward3``) to the rho to use instead of 1/r.
    """
    if not np.asarray(train_counts).any():
        raise DataError(
            "cannot rank the classes for the test-agnostic lists: the training class counts are all zero "
            "(an empty training list?)"
        )
    factors = dict(factors or {})
    plan = [("forward", r) for r in ratios] + [("uniform", None)] + [("backward", r) for r in ratios]
    unknown = set(factors) - {test_agnostic_name(d, r) for d, r in plan if d != "uniform"}
    if unknown:
        raise DataError(f"parameter 'factors': no test distribution named {sorted(unknown)} among the ratios {ratios}")
    out = {}
    for direction, ratio in plan:
        name = test_agnostic_name(direction, ratio)
        counts = test_agnostic_counts(train_counts, ratio or 1.0, n_max, direction, factors.get(name))
        kept = select_per_class(test.labels, counts, seed, prefix)
        out[name] = LabelList(tuple(test.items[i] for i in kept), test.labels[kept].copy())
    return out


def select_split(train: ImageArrays, split_list: LabelList, dataset: str, source: str = "split_list") -> ImageArrays:
    """The training images of ``split_list`` (in list order), checking the list's labels against ``dataset``.
    An empty list is an error naming its file (``split_list.source``, else ``source``)."""
    if len(split_list) == 0:
        raise DataError(f"{split_list.source or source}: the training list has no entries; nothing to train on")
    check_labels(split_list, train.num_classes, source)
    rows = train.indices_of(split_list.items, source)
    mismatch = np.flatnonzero(train.labels[rows] != split_list.labels)
    if mismatch.size:
        pos = int(mismatch[0])
        raise DataError(
            f"{source}, line {split_list.line_of(pos)}: item {split_list.items[pos]!r} has label "
            f"{int(split_list.labels[pos])} but {dataset} labels it {int(train.labels[rows[pos]])}; "
            f"the list was made for another dataset ({mismatch.size} lines disagree)"
        )
    return train.subset(rows)


def long_tail_from_list(
    balanced: LabelList, num_classes: int, profile: str, imbalance_ratio: float, n_max: int | None, seed: int
) -> LabelList:
    """A long-tailed list from any list with enough images per class (e.g. a full training list), by the
    reference procedure: class 0 the head, per class the items in list order shuffled, first n kept."""
    if len(balanced) == 0:
        raise DataError(f"{balanced.source or '<list>'}: the source list has no entries; no long-tailed list to draw")
    available = balanced.class_counts(num_classes)
    n_max = int(available.min()) if n_max is None else int(n_max)
    counts = class_profile(profile, num_classes, imbalance_ratio, n_max)
    kept = select_per_class(balanced.labels, counts, seed)
    return LabelList(tuple(balanced.items[i] for i in kept), balanced.labels[kept].copy())


def relabel(lst: LabelList, class_map: np.ndarray) -> LabelList:
    """The same list with every label replaced by ``class_map[label]`` (line numbers kept)."""
    return LabelList(lst.items, np.asarray(class_map)[lst.labels], lst.line_numbers, lst.source)


def compare_class_counts(ours: LabelList, official: LabelList, train_counts: np.ndarray) -> dict:
    """How a generated test-agnostic list compares with the official one, class by class.

    Classes tied in training frequency may legitimately swap counts (the official tie order is
    arbitrary), so differences are split into tied and untied classes; only the latter are errors.
    """
    num_classes = len(train_counts)
    a, b = ours.class_counts(num_classes), official.class_counts(num_classes)
    differ = np.flatnonzero(a != b)
    tie_size = np.bincount(np.asarray(train_counts))[np.asarray(train_counts)]
    untied = differ[tie_size[differ] == 1]
    return {
        "total": int(a.sum()),
        "official_total": int(b.sum()),
        "totals_equal": bool(a.sum() == b.sum()),
        "same_count_profile": bool(np.array_equal(np.sort(a), np.sort(b))),
        "classes_differing": int(differ.size),
        "untied_classes_differing": untied.tolist(),
    }


def list_rows(images: ImageArrays, lists: dict[str, LabelList], source: str = "test_agnostic_lists") -> dict:
    """name -> row indices into ``images`` of every list (e.g. the test-agnostic distributions of a test set)."""
    return {name: images.indices_of(lst.items, f"{source}/{name}") for name, lst in lists.items()}


def union_rows(rows: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The rows any list uses (sorted, once each) and every list's positions within them: work that is the
    same for every list (e.g. a forward pass) is then done once per image actually used."""
    union = np.unique(np.concatenate([np.asarray(r, dtype=np.int64) for r in rows.values()] or [np.zeros(0, int)]))
    return union, {name: np.searchsorted(union, r).astype(np.int64) for name, r in rows.items()}
