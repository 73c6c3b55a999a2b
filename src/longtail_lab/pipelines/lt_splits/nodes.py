"""Nodes that turn a raw balanced dataset into a long-tailed split."""

from __future__ import annotations

from longtail_lab.data.arrays import DataError
from longtail_lab.data.list_files import LabelList
from longtail_lab.data.sources import ImageSources
from longtail_lab.data.splits import long_tail_list, test_agnostic_lists
from longtail_lab.evaluation.plots import class_histogram
from longtail_lab.params import reject_unknown_keys

SPLIT_KEYS = {"profile", "imbalance_ratio", "n_max", "seed"}
TEST_AGNOSTIC_KEYS = {"ratios", "n_max", "seed"}


def _check_keys(params: dict, known: set[str], prefix: str) -> None:
    reject_unknown_keys(params, known, prefix, DataError)


def make_long_tail_split(sources: ImageSources, dataset: str, split: dict) -> tuple[LabelList, dict]:
    """Subsample the training set of ``dataset`` with a long-tail profile -> (list, summary)."""
    _check_keys(split, SPLIT_KEYS, "split")
    data = sources.load(dataset)
    lst, summary = long_tail_list(
        data.train,
        profile=split.get("profile", "exponential"),
        imbalance_ratio=split["imbalance_ratio"],
        n_max=split.get("n_max"),
        seed=int(split.get("seed", 0)),
    )
    return lst, {"dataset": dataset, **summary}


def plot_split_histogram(summary: dict):
    title = (
        f"{summary['dataset']} long-tailed, imbalance ratio {summary['imbalance_ratio']:g} ({summary['total']} images)"
    )
    return class_histogram(summary["class_counts"], title)


def make_test_agnostic_lists(
    sources: ImageSources, dataset: str, summary: dict, test_agnostic: dict
) -> dict[str, LabelList]:
    """forward/backward test distributions at each ratio plus uniform, from the balanced test set."""
    _check_keys(test_agnostic, TEST_AGNOSTIC_KEYS, "test_agnostic")
    data = sources.load(dataset)
    return test_agnostic_lists(
        data.test,
        summary["class_counts"],
        ratios=[float(r) for r in test_agnostic.get("ratios", [50, 25, 10, 5, 2])],
        n_max=int(test_agnostic.get("n_max", 100)),
        seed=int(test_agnostic.get("seed", 0)),
    )
