"""``lt_splits``: long-tailed CIFAR-10/100 training lists, summaries, histograms, test-agnostic lists."""

from longtail_lab.pipelines.lt_splits.pipeline import create_pipeline

__all__ = ["create_pipeline"]
