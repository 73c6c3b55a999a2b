"""Nodes that turn a raw balanced dataset into a long-tailed split (all settings from the run configuration)."""

from __future__ import annotations

from longtail_lab.data.images.arrays import TrainTest
from longtail_lab.data.images.sources import ImageSources
from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.splits import long_tail_list, test_agnostic_lists
from longtail_lab.evaluation.plots import class_histogram
from longtail_lab.pipelines.lt_splits.parameters import SplitBlock


def _split_settings(run_config: dict) -> SplitBlock:
    """The split part of any run configuration that starts with the split template (lt_splits, cifar_lt, ...)."""
    keys = {f.name for f in SplitBlock.__dataclass_fields__.values()}
    return SplitBlock.from_params({k: v for k, v in run_config.items() if k in keys}, run_config["namespace"])


def _labelled(sources: ImageSources, dataset: str) -> TrainTest:
    """Names and labels are all a split needs: an image folder is only listed, not decoded."""
    return sources.load(dataset, in_memory=not sources.file_backed(dataset))


def make_long_tail_split(sources: ImageSources, run_config: dict) -> tuple[LabelList, dict]:
    """Subsample the training set of the run's dataset with a long-tail profile -> (list, summary)."""
    cfg, prefix = _split_settings(run_config), f"{run_config['namespace']}.split"
    split = cfg.split
    lst, summary = long_tail_list(
        _labelled(sources, cfg.dataset).train,
        split.profile,
        split.imbalance_ratio,
        split.n_max,
        split.seed,
        prefix=prefix,
    )
    return lst, {"dataset": cfg.dataset, **summary}


def plot_split_histogram(summary: dict):
    title = (
        f"{summary['dataset']} long-tailed, imbalance ratio {summary['imbalance_ratio']:g} ({summary['total']} images)"
    )
    return class_histogram(summary["class_counts"], title)


def make_test_agnostic_lists(sources: ImageSources, summary: dict, run_config: dict) -> dict[str, LabelList]:
    """forward/backward test distributions at each ratio plus uniform, from the balanced test set."""
    cfg, prefix = _split_settings(run_config), f"{run_config['namespace']}.test_agnostic"
    params = cfg.test_agnostic
    return test_agnostic_lists(
        _labelled(sources, cfg.dataset).test,
        summary["class_counts"],
        params.ratios,
        params.n_max,
        params.seed,
        prefix=prefix,
    )
