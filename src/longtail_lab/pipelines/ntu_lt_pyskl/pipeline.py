"""Wiring: official PYSKL pickle + the ``ntu_lt`` lists of the namespace -> long-tailed pickle.

The first node is the same as ``ntu_lt``'s (the namespace's whole block, ``ntu_lt`` and ``ntu_lt_pyskl``
keys, checked by ``ntu_lt.parameters.NtuBlock``), so ``--pipelines=ntu_lt,ntu_lt_pyskl`` runs it once.
"""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.check_node import checked
from longtail_lab.pipelines.ntu_lt.parameters import NTU_NAMESPACES, NtuBlock
from longtail_lab.pipelines.ntu_lt_pyskl.nodes import filter_lt_annotations

NAMESPACES = NTU_NAMESPACES


def pyskl_template() -> Pipeline:
    return Pipeline(
        [
            Node(
                filter_lt_annotations,
                ["pyskl_annotations", "lt_lists", "run_config"],
                ["lt_annotations", "lt_annotations_report"],
                name="filter_lt_annotations",
            )
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return sum((checked(ns, NtuBlock, pyskl_template()) for ns in NAMESPACES), Pipeline([]))
