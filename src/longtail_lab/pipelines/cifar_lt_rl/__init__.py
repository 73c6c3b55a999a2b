"""``cifar_lt_rl``: SADE / BSCE / CE with optional reflective learning, test-time aggregation, evaluation."""

from longtail_lab.pipelines.cifar_lt_rl.pipeline import create_pipeline

__all__ = ["create_pipeline"]
