"""Wiring of the long-tailed list template, instantiated once per benchmark split (namespace)."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.ntu_lt.nodes import make_long_tail_lists, plot_long_tail_lists

NAMESPACES = ("ntu60_xsub", "ntu60_xview", "ntu120_xsub", "ntu120_xset", "nwucla")


def lists_template() -> Pipeline:
    """full training list (+ official lists, if any) -> long-tailed lists + summary + histogram."""
    return Pipeline(
        [
            Node(
                make_long_tail_lists,
                ["full_train_list", "official_lt_lists", "params:ntu_lt"],
                ["lt_lists", "lt_summary"],
                name="make_long_tail_lists",
            ),
            Node(plot_long_tail_lists, "lt_summary", "lt_class_histogram", name="plot_long_tail_lists"),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return sum((Pipeline(lists_template(), namespace=ns, tags=[ns]) for ns in NAMESPACES), Pipeline([]))
