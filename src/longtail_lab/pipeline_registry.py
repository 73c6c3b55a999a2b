"""Every package under ``pipelines/`` with a ``create_pipeline()`` is a runnable pipeline."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = pipelines.get("cifar_lt", Pipeline([]))
    return pipelines
