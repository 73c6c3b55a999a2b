"""``seg_labels``: Cityscapes / GTAV / SYNTHIA label maps -> Cityscapes trainIds, with class pixel statistics."""

from longtail_lab.pipelines.seg_labels.pipeline import create_pipeline

__all__ = ["create_pipeline"]
