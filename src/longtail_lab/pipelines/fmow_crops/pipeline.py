"""Wiring of ``fmow_crops``: check the ``fmow_crops`` block -> raw tree -> crop folder (one version) ->
summary JSON + overview plot. Nodes and the run configuration live in the ``fmow_crops`` namespace; the raw
input and the outputs keep their catalog names."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.data.fmow.crop_writer import CropParams
from longtail_lab.pipelines.check_node import checked
from longtail_lab.pipelines.fmow_crops.nodes import make_crop_writer, plot_crop_overview, summarise_crops

NAMESPACE = "fmow_crops"
OUTPUTS = ("fmow_crop_folder", "fmow_crop_summary", "fmow_crop_overview")


def create_pipeline(**kwargs) -> Pipeline:
    template = Pipeline(
        [
            Node(make_crop_writer, ["fmow_raw", "run_config"], "fmow_crop_folder", name="make_crop_writer"),
            Node(summarise_crops, "fmow_crop_folder", "fmow_crop_summary", name="summarise_crops"),
            Node(plot_crop_overview, "fmow_crop_summary", "fmow_crop_overview", name="plot_crop_overview"),
        ]
    )
    return checked(NAMESPACE, CropParams, template, inputs=("fmow_raw",), outputs=OUTPUTS)
