"""Wiring of the list-file template; one namespace per dataset. Each dataset is also a pipeline of its
own, its namespace of this one (``pipeline_registry.py``: ``kedro run --pipelines=places_lt``)."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.check_node import checked
from longtail_lab.pipelines.list_splits.nodes import check_lists, generate_lists, remap_classes, summarise_lists
from longtail_lab.pipelines.list_splits.parameters import ListSplitsBlock

DATASET_NAMESPACES = ("imagenet_lt", "places_lt", "inat18_lt")


def list_template() -> Pipeline:
    """official list files + run configuration -> checked (re-indexed) lists, problems, generated lists,
    summary, histogram."""
    return Pipeline(
        [
            Node(
                check_lists,
                ["raw_list_files", "run_config"],
                ["parsed_lists", "list_problems", "check_report"],
                name="check_lists",
            ),
            Node(remap_classes, ["parsed_lists", "run_config"], ["checked_lists", "class_map"], name="remap_classes"),
            Node(generate_lists, ["checked_lists", "run_config"], "generated_lists", name="generate_lists"),
            Node(
                summarise_lists,
                ["checked_lists", "generated_lists", "check_report", "class_map", "run_config"],
                ["list_summary", "class_histogram"],
                name="summarise_lists",
            ),
        ]
    )


def dataset_pipeline(namespace: str) -> Pipeline:
    """The template in ``namespace``, after the node that checks the namespace's whole parameter block."""
    return checked(namespace, ListSplitsBlock, list_template())


def create_pipeline(**kwargs) -> Pipeline:
    return sum((dataset_pipeline(ns) for ns in DATASET_NAMESPACES), Pipeline([]))
