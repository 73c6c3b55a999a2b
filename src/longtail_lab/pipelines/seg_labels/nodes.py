"""Nodes of ``seg_labels``: run configuration in, conversion writer / statistics / figure out."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from longtail_lab.data.segmentation.conversion import LabelMapWriter, class_stats_table, label_summary, read_conversion
from longtail_lab.data.segmentation.layouts import SegIndex
from longtail_lab.errors import DataError
from longtail_lab.evaluation.plots import class_pixel_frequencies
from longtail_lab.pipelines.seg_labels.parameters import namespace_block

log = logging.getLogger(__name__)


def convert_labels(index: SegIndex, run_config: dict) -> LabelMapWriter:
    """The writer that converts the dataset into the versioned folder, with the checked settings."""
    ns = run_config["namespace"]
    params = namespace_block(ns).from_run_config(run_config).seg_labels
    if not index.exists:
        if params.required:
            raise DataError(
                f"{index.root}: {index.layout} dataset root does not exist (parameter '{ns}.seg_labels.required' "
                f"is true)"
            )
        log.warning(
            "%s: %s does not exist, so %s is reported as absent. Put the data there, or convert only the "
            "datasets you have: kedro run --pipelines=seg_labels --namespaces=cityscapes",
            index.layout,
            index.root,
            index.layout,
        )
    else:
        index = index.select_splits(getattr(params, "splits", None), f"{ns}.seg_labels.splits")
    if params.label_space == "stal_compact16":
        log.warning(
            "%s: label_space stal_compact16 reproduces STAL's released SYNTHIA labels (RIPU's 16-class ids); "
            "they disagree with 19-class Cityscapes trainIds (sky 9 = terrain there)",
            index.layout,
        )
    return LabelMapWriter(index, params.settings())


def summarise_labels(folder: Path) -> tuple[pd.DataFrame, dict]:
    """Per-class pixel statistics and the run summary of a converted label folder."""
    report, pixels = read_conversion(folder)
    stats = class_stats_table(pixels, tuple(report["class_names"]))
    summary = label_summary(report, pixels, stats)
    log.info(
        "%s: %d label images converted, %d skipped, ignore fraction %.3f",
        summary["layout"],
        summary["converted"],
        summary["skipped"],
        summary["ignore_fraction"],
    )
    return stats, summary


def plot_class_frequencies(stats: pd.DataFrame, summary: dict):
    title = (
        f"{summary['layout']} ({summary['label_space']}, {summary['status']}): {summary['converted']} label images, "
        f"ignore {summary['ignore_fraction']:.1%}"
    )
    return class_pixel_frequencies(stats["name"].tolist(), stats["pixels"].tolist(), title)
