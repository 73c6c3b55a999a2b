"""``imagenet_lt``: the ``list_splits`` template for this one dataset (``kedro run --pipelines=imagenet_lt``)."""

from longtail_lab.pipelines.imagenet_lt.pipeline import create_pipeline

__all__ = ["create_pipeline"]
