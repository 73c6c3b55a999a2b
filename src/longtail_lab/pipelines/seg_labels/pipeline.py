"""Wiring of ``seg_labels``: one template, instantiated per dataset namespace after its parameter check."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.check_node import checked
from longtail_lab.pipelines.seg_labels.nodes import convert_labels, plot_class_frequencies, summarise_labels
from longtail_lab.pipelines.seg_labels.parameters import NAMESPACES, namespace_block


def labels_template() -> Pipeline:
    """raw layout + run configuration -> converted label folder -> class pixel statistics + summary -> plot."""
    return Pipeline(
        [
            Node(convert_labels, ["seg_raw", "run_config"], "seg_label_maps", name="convert_labels"),
            Node(
                summarise_labels,
                "seg_label_maps",
                ["seg_class_stats", "seg_label_summary"],
                name="summarise_labels",
            ),
            Node(
                plot_class_frequencies,
                ["seg_class_stats", "seg_label_summary"],
                "seg_class_frequencies",
                name="plot_class_frequencies",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return sum((checked(ns, namespace_block(ns), labels_template()) for ns in NAMESPACES), Pipeline([]))
