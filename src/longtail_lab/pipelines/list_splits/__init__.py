"""``list_splits``: validate official list-file datasets (ImageNet-LT, Places-LT, iNaturalist-2018),
summarise them, optionally re-index classes, and generate long-tailed and test-agnostic lists."""

from longtail_lab.pipelines.list_splits.pipeline import create_pipeline

__all__ = ["create_pipeline"]
