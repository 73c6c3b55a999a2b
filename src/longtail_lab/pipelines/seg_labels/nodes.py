"""Nodes of ``seg_labels``: parameters in, conversion writer / statistics / figure out."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from longtail_lab.data.arrays import DataError
from longtail_lab.data.seg_conversion import (
    ConversionSettings,
    LabelMapWriter,
    class_stats_table,
    label_summary,
    read_conversion,
)
from longtail_lab.data.seg_layouts import SegIndex
from longtail_lab.evaluation.plots import class_pixel_frequencies
from longtail_lab.params import reject_unknown_keys

log = logging.getLogger(__name__)

COMMON_KEYS = {"label_space", "resize", "unknown_ids", "on_bad_label", "workers", "required"}
CITYSCAPES_KEYS = COMMON_KEYS | {"splits"}


def _resize(value) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise DataError(f"parameter 'seg_labels.resize' is {value!r}; expected null or [width, height]")
    return int(value[0]), int(value[1])


def convert_labels(index: SegIndex, seg_labels: dict) -> LabelMapWriter:
    """Check the parameters and return the writer that converts the dataset into the versioned folder."""
    reject_unknown_keys(
        seg_labels, CITYSCAPES_KEYS if index.layout == "cityscapes" else COMMON_KEYS, "seg_labels", DataError
    )
    settings = ConversionSettings(
        label_space=seg_labels.get("label_space", "trainid19"),
        resize=_resize(seg_labels.get("resize")),
        unknown_ids=seg_labels.get("unknown_ids", "error"),
        on_bad_label=seg_labels.get("on_bad_label", "skip"),
        workers=int(seg_labels.get("workers", 4)),
    )
    if not index.exists:
        if seg_labels.get("required", False):
            raise DataError(f"{index.root}: {index.layout} dataset root does not exist (seg_labels.required is true)")
        log.warning(
            "%s: %s does not exist, so %s is reported as absent. Put the data there, or convert only the "
            "datasets you have: kedro run --pipelines=seg_labels --namespaces=cityscapes",
            index.layout,
            index.root,
            index.layout,
        )
    else:
        index = index.select_splits(seg_labels.get("splits"))
    if settings.label_space == "stal_compact16":
        log.warning(
            "%s: label_space stal_compact16 reproduces STAL's released SYNTHIA labels (RIPU's 16-class ids); "
            "they disagree with 19-class Cityscapes trainIds (sky 9 = terrain there)",
            index.layout,
        )
    return LabelMapWriter(index, settings)


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
