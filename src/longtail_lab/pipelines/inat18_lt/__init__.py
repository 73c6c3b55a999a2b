"""``inat18_lt``: the ``list_splits`` template for this one dataset (``kedro run --pipelines=inat18_lt``)."""

from longtail_lab.pipelines.inat18_lt.pipeline import create_pipeline

__all__ = ["create_pipeline"]
