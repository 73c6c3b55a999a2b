"""Nodes of ``fmow_crops``: plan the crops (the folder dataset runs the writer), then summarise and plot."""

from __future__ import annotations

from pathlib import Path

from longtail_lab.data.fmow.crop_rule import FmowIndex
from longtail_lab.data.fmow.crop_writer import CropParams, FmowCropWriter, plan_crops, summarise_crop_folder
from longtail_lab.evaluation.plots import fmow_crop_overview


def make_crop_writer(raw: FmowIndex, run_config: dict) -> FmowCropWriter:
    """The checked settings + the raw index -> the writer that cuts and writes every crop into one version."""
    prefix = run_config["namespace"]
    return plan_crops(raw, CropParams.from_run_config(run_config), prefix)


def summarise_crops(crop_folder: Path) -> dict:
    """Counts per split and reason, crops per category, multiplier bands and speed, read from the tables."""
    return summarise_crop_folder(crop_folder)


def plot_crop_overview(summary: dict):
    title = f"fMoW crops ({summary['crops']} crops, {summary['skipped']} skipped)"
    return fmow_crop_overview(summary["crops_per_category"], summary["multiplier_counts"], title)
