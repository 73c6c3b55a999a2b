"""Nodes that turn a full training list of skeleton sample names into long-tailed lists."""

from __future__ import annotations

from longtail_lab.data.skeletons.ntu_names import SampleNames, long_tail_lists
from longtail_lab.evaluation.plots import long_tail_profiles
from longtail_lab.pipelines.ntu_lt.parameters import namespace_block


def make_long_tail_lists(
    full: SampleNames, official: dict[str, SampleNames], run_config: dict
) -> tuple[dict[str, SampleNames], dict]:
    """Full training list (+ optional official lists) -> ({list name: names}, summary)."""
    ns = run_config["namespace"]
    params = namespace_block(ns).from_run_config(run_config).ntu_lt
    return long_tail_lists(full, official, **params.kwargs(), block=f"{ns}.ntu_lt")


def plot_long_tail_lists(summary: dict):
    counts = {name: entry["class_counts"] for name, entry in summary["lists"].items()}
    origins = sorted({entry["origin"] for entry in summary["lists"].values()})
    title = f"{summary['list_prefix']} long-tailed lists ({', '.join(origins)}; n_max {summary['n_max']})"
    return long_tail_profiles(counts, title)
