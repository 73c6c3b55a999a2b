"""Nodes that restrict an official PYSKL annotation pickle to a long-tailed training list."""

from __future__ import annotations

from longtail_lab.data.skeletons.ntu_names import SampleNames
from longtail_lab.data.skeletons.pyskl import AnnotationSet, filter_to_long_tail_list
from longtail_lab.pipelines.ntu_lt.parameters import NtuBlock


def filter_lt_annotations(
    annotations: AnnotationSet, lt_lists: dict[str, SampleNames], run_config: dict
) -> tuple[AnnotationSet, dict]:
    """-> (annotations of the long-tailed training list + the kept test split, report)."""
    ns = run_config["namespace"]
    params = NtuBlock.from_run_config(run_config).ntu_lt_pyskl
    return filter_to_long_tail_list(annotations, lt_lists, params, block=f"{ns}.ntu_lt_pyskl")
