"""Wiring of the split template; ``lt_splits`` instantiates it once per dataset namespace."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.check_node import checked
from longtail_lab.pipelines.lt_splits.nodes import (
    make_long_tail_split,
    make_test_agnostic_lists,
    plot_split_histogram,
)
from longtail_lab.pipelines.lt_splits.parameters import SplitBlock

DATASET_NAMESPACES = ("cifar10_lt", "cifar100_lt")
RAW = "raw_image_datasets"


def split_template() -> Pipeline:
    """raw dataset + run configuration -> long-tailed list + summary + histogram + test-agnostic lists."""
    return Pipeline(
        [
            Node(
                make_long_tail_split, [RAW, "run_config"], ["split_list", "split_summary"], name="make_long_tail_split"
            ),
            Node(plot_split_histogram, "split_summary", "class_histogram", name="plot_split_histogram"),
            Node(
                make_test_agnostic_lists,
                [RAW, "split_summary", "run_config"],
                "test_agnostic_lists",
                name="make_test_agnostic_lists",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return sum(
        (checked(ns, SplitBlock, split_template(), inputs=(RAW,), check_inputs=(RAW,)) for ns in DATASET_NAMESPACES),
        Pipeline([]),
    )
