"""Wiring of the long-tailed list template, instantiated once per benchmark split (namespace)."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.check_node import checked
from longtail_lab.pipelines.ntu_lt.nodes import make_long_tail_lists, plot_long_tail_lists
from longtail_lab.pipelines.ntu_lt.parameters import NTU_NAMESPACES, NWUCLA_NAMESPACE, namespace_block

NAMESPACES = (*NTU_NAMESPACES, NWUCLA_NAMESPACE)


def lists_template() -> Pipeline:
    """full training list (+ official lists, if any) + run configuration -> long-tailed lists + summary +
    histogram."""
    return Pipeline(
        [
            Node(
                make_long_tail_lists,
                ["full_train_list", "official_lt_lists", "run_config"],
                ["lt_lists", "lt_summary"],
                name="make_long_tail_lists",
            ),
            Node(plot_long_tail_lists, "lt_summary", "lt_class_histogram", name="plot_long_tail_lists"),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return sum((checked(ns, namespace_block(ns), lists_template()) for ns in NAMESPACES), Pipeline([]))
