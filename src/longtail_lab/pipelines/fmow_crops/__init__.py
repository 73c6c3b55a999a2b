"""``fmow_crops``: the fMoW baseline's context crops of every box, as PatchDrop's train/val/test CSVs."""

from longtail_lab.pipelines.fmow_crops.pipeline import create_pipeline

__all__ = ["create_pipeline"]
