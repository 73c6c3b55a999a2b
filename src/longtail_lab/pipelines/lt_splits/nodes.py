"""Nodes that turn a raw balanced dataset into a long-tailed split (all settings from the run configuration)."""

from __future__ import annotations

from longtail_lab.data.images.sources import ImageSources
from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.splits import AgnosticListParams, SplitParams, long_tail_list, test_agnostic_lists
from longtail_lab.evaluation.plots import class_histogram


def make_long_tail_split(sources: ImageSources, run_config: dict) -> tuple[LabelList, dict]:
    """Subsample the training set of the run's dataset with a long-tail profile -> (list, summary)."""
    prefix = f"{run_config['namespace']}.split"
    split = SplitParams.from_params(run_config["split"], prefix)
    data = sources.load(run_config["dataset"])
    lst, summary = long_tail_list(
        data.train, split.profile, split.imbalance_ratio, split.n_max, split.seed, prefix=prefix
    )
    return lst, {"dataset": run_config["dataset"], **summary}


def plot_split_histogram(summary: dict):
    title = (
        f"{summary['dataset']} long-tailed, imbalance ratio {summary['imbalance_ratio']:g} ({summary['total']} images)"
    )
    return class_histogram(summary["class_counts"], title)


def make_test_agnostic_lists(sources: ImageSources, summary: dict, run_config: dict) -> dict[str, LabelList]:
    """forward/backward test distributions at each ratio plus uniform, from the balanced test set."""
    prefix = f"{run_config['namespace']}.test_agnostic"
    params = AgnosticListParams.from_params(run_config["test_agnostic"], prefix)
    data = sources.load(run_config["dataset"])
    return test_agnostic_lists(
        data.test, summary["class_counts"], params.ratios, params.n_max, params.seed, prefix=prefix
    )
