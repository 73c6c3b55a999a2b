"""Wiring: official PYSKL pickle + the ``ntu_lt`` lists of the namespace -> long-tailed pickle."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.ntu_lt_pyskl.nodes import filter_lt_annotations

NAMESPACES = ("ntu60_xsub", "ntu60_xview", "ntu120_xsub", "ntu120_xset")


def pyskl_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                filter_lt_annotations,
                ["pyskl_annotations", "lt_lists", "params:ntu_lt_pyskl"],
                ["lt_annotations", "lt_annotations_report"],
                name="filter_lt_annotations",
            )
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return sum((Pipeline(pyskl_template(), namespace=ns, tags=[ns]) for ns in NAMESPACES), Pipeline([]))
