"""Every package under ``pipelines/`` with a ``create_pipeline()`` is a runnable pipeline.

``__default__`` (``kedro run`` with no ``--pipelines``, and the pipeline kedro-viz opens on) is the main job,
``cifar_lt_rl``: SADE + reflective learning on CIFAR-100-LT.
"""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

MAIN_PIPELINE = "cifar_lt_rl"


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = pipelines.get(MAIN_PIPELINE, Pipeline([]))
    return pipelines
