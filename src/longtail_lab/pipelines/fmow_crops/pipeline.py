"""Wiring of ``fmow_crops``: raw tree -> crop folder (one version) -> summary JSON + overview plot."""

from kedro.pipeline import Node, Pipeline

from longtail_lab.pipelines.fmow_crops.nodes import make_crop_writer, plot_crop_overview, summarise_crops


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(make_crop_writer, ["fmow_raw", "params:fmow_crops"], "fmow_crop_folder", name="make_crop_writer"),
            Node(summarise_crops, "fmow_crop_folder", "fmow_crop_summary", name="summarise_crops"),
            Node(plot_crop_overview, "fmow_crop_summary", "fmow_crop_overview", name="plot_crop_overview"),
        ],
        tags=["fmow_crops"],
    )
