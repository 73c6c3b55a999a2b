"""Wiring of ``seg_labels``: one template, instantiated per dataset namespace."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.seg_labels.nodes import convert_labels, plot_class_frequencies, summarise_labels

NAMESPACES = ("cityscapes", "gtav", "synthia")


def labels_template() -> Pipeline:
    """raw layout -> converted label folder -> class pixel statistics + summary -> bar plot."""
    return Pipeline(
        [
            Node(convert_labels, ["seg_raw", "params:seg_labels"], "seg_label_maps", name="convert_labels"),
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
    return sum((Pipeline(labels_template(), namespace=ns, tags=[ns]) for ns in NAMESPACES), Pipeline([]))
