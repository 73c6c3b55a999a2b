"""Long-tail profiles and the reference selection procedure (LDAM-DRW / SADE / LTRL ``IMBALANCECIFAR``)."""

from __future__ import annotations

import numpy as np

from longtail_lab.errors import DataError

PROFILES = ("exponential", "step")


def class_profile(profile: str, num_classes: int, imbalance_ratio: float, n_max: int, prefix: str = "") -> np.ndarray:
    """Per-class sample counts, class 0 the head.

    exponential: n_i = floor(n_max * rho^(-i / (C - 1)));  step: the first C // 2 classes get n_max,
    the rest floor(n_max / rho). Computed as ``n_max * (1/rho) ** (i / (C - 1))`` like the reference, so
    the floor lands on the same integers. ``prefix`` is the parameter block the settings came from (it
    appears in the error messages, e.g. ``cifar_lt.split``).
    """

    def key(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    if profile not in PROFILES:
        raise DataError(f"parameter '{key('profile')}': unknown profile {profile!r}; choose one of {PROFILES}")
    if not imbalance_ratio >= 1:
        raise DataError(
            f"parameter '{key('imbalance_ratio')}' must be >= 1 (max/min class size), got {imbalance_ratio}"
        )
    if not n_max >= 1:
        raise DataError(f"parameter '{key('n_max')}' must be >= 1, got {n_max}")
    if num_classes < 1:
        raise DataError(f"need at least one class, got {num_classes}")
    factor = 1.0 / float(imbalance_ratio)
    if profile == "exponential":
        denom = max(num_classes - 1.0, 1.0)
        counts = [int(n_max * factor ** (i / denom)) for i in range(num_classes)]
    else:
        head = num_classes // 2
        counts = [int(n_max)] * head + [int(n_max * factor)] * (num_classes - head)
    counts = np.asarray(counts, dtype=np.int64)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise DataError(
            f"class {int(empty[0])} gets 0 samples with {key('n_max')}={n_max} and {key('imbalance_ratio')}="
            f"{imbalance_ratio:g} ({empty.size} empty classes); lower the imbalance ratio or raise n_max"
        )
    return counts


def select_per_class(labels: np.ndarray, counts: np.ndarray, seed: int, prefix: str = "") -> np.ndarray:
    """Indices kept: numpy legacy RNG seeded once, then per class in label order the class's indices
    (original order) are shuffled and the first ``counts[c]`` kept; output is grouped class by class."""
    labels = np.asarray(labels)
    rng = np.random.RandomState(seed)
    kept = []
    for c, n in enumerate(np.asarray(counts).tolist()):
        idx = np.flatnonzero(labels == c)
        if len(idx) < n:
            n_max = f"{prefix}.n_max" if prefix else "n_max"
            raise DataError(f"class {c} has {len(idx)} samples but the profile asks for {n}; lower {n_max}")
        rng.shuffle(idx)
        kept.append(idx[:n])
    return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)


def test_agnostic_counts(
    train_counts: np.ndarray, imbalance_ratio: float, n_max: int, direction: str, factor: float | None = None
) -> np.ndarray:
    """Per-class test counts of a forward / backward / uniform test distribution (LADE / SADE protocol).

    Classes are ranked by training frequency; forward gives rank k floor(n_max * rho^(k/(C-1))) with
    rho = 1/r, backward uses the reversed rank, uniform gives n_max to every class. ``factor`` replaces
    rho when given: the official iNaturalist-2018 forward3 / backward3 lists were made with rho rounded
    to 0.3333 / 0.333 (their totals 11,147 / 11,137 follow; the exact 1/3 gives 11,148).
    """
    num_classes = len(train_counts)
    if direction == "uniform":
        return np.full(num_classes, int(n_max), dtype=np.int64)
    if direction not in ("forward", "backward"):
        raise DataError(f"unknown test distribution direction {direction!r}")
    rank = frequency_class_map(train_counts)
    if direction == "backward":
        rank = num_classes - 1 - rank
    factor = 1.0 / float(imbalance_ratio) if factor is None else float(factor)
    denom = max(num_classes - 1.0, 1.0)
    return np.asarray([int(n_max * factor ** (k / denom)) for k in rank.tolist()], dtype=np.int64)


TIE_BREAKS = ("class_id", "numpy_quicksort")


def frequency_class_map(train_counts: np.ndarray, tie_break: str = "class_id") -> np.ndarray:
    """class_map[old] = new, new ids ordered by descending training count (SADE's Places re-indexing).

    SADE calls ``np.argsort(-counts)`` (the default, unstable quicksort), so the order of classes with
    equal counts depends on numpy's sort implementation and even the CPU's SIMD sort. ``class_id``
    (default) breaks ties by the original class id, which is reproducible everywhere;
    ``numpy_quicksort`` makes the reference's call on the installed numpy.
    """
    counts = -np.asarray(train_counts)
    if tie_break == "class_id":
        order = np.argsort(counts, kind="stable")
    elif tie_break == "numpy_quicksort":
        order = np.argsort(counts)
    else:
        raise DataError(f"unknown tie break {tie_break!r}; choose one of {TIE_BREAKS}")
    class_map = np.empty(len(order), dtype=np.int64)
    class_map[order] = np.arange(len(order))
    return class_map


def test_agnostic_name(direction: str, ratio: float | None) -> str:
    return "uniform" if direction == "uniform" else f"{direction}{ratio:g}"


def shot_groups(train_counts: np.ndarray, many: int = 100, few: int = 20) -> dict[str, list[int]]:
    """many: count > 100, medium: 20 <= count <= 100, few: count < 20 (the standard thresholds)."""
    counts = np.asarray(train_counts)
    return {
        "many": np.flatnonzero(counts > many).tolist(),
        "medium": np.flatnonzero((counts >= few) & (counts <= many)).tolist(),
        "few": np.flatnonzero(counts < few).tolist(),
    }
