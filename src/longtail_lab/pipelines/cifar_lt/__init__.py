"""``cifar_lt``: long-tailed CIFAR split -> train a baseline (CE or balanced softmax) -> evaluate."""

from longtail_lab.pipelines.cifar_lt.pipeline import create_pipeline

__all__ = ["create_pipeline"]
