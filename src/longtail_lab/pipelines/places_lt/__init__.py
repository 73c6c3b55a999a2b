"""``places_lt``: the ``list_splits`` template for this one dataset (``kedro run --pipelines=places_lt``)."""

from longtail_lab.pipelines.places_lt.pipeline import create_pipeline

__all__ = ["create_pipeline"]
