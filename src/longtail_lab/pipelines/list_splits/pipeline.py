"""Wiring of the list-file template; one namespace per dataset. Each dataset is also a pipeline of its
own (packages ``imagenet_lt``, ``places_lt``, ``inat18_lt``: ``kedro run --pipelines=places_lt``)."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.list_splits.nodes import (
    check_lists,
    generate_lists,
    remap_classes,
    resolve_list_config,
    summarise_lists,
)

DATASET_NAMESPACES = ("imagenet_lt", "places_lt", "inat18_lt")


def list_template() -> Pipeline:
    """official list files -> checked (re-indexed) lists, problems, generated lists, summary, histogram."""
    return Pipeline(
        [
            Node(
                resolve_list_config,
                ["params:lists", "params:check", "params:class_remap", "params:generate"],
                "list_config",
                name="resolve_list_config",
            ),
            Node(
                check_lists,
                ["raw_list_files", "list_config"],
                ["parsed_lists", "list_problems", "check_report"],
                name="check_lists",
            ),
            Node(remap_classes, ["parsed_lists", "list_config"], ["checked_lists", "class_map"], name="remap_classes"),
            Node(generate_lists, ["checked_lists", "list_config"], "generated_lists", name="generate_lists"),
            Node(
                summarise_lists,
                ["checked_lists", "generated_lists", "check_report", "class_map", "list_config", "params:dataset"],
                ["list_summary", "class_histogram"],
                name="summarise_lists",
            ),
        ]
    )


def dataset_pipeline(namespace: str) -> Pipeline:
    return Pipeline(list_template(), namespace=namespace, tags=[namespace])


def create_pipeline(**kwargs) -> Pipeline:
    return sum((dataset_pipeline(ns) for ns in DATASET_NAMESPACES), Pipeline([]))
