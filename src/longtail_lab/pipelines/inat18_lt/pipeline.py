"""Wiring only: the ``inat18_lt`` namespace of ``list_splits``."""

from kedro.pipeline import Pipeline

from longtail_lab.pipelines.list_splits.pipeline import dataset_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return dataset_pipeline("inat18_lt")
