"""``ntu_lt``: BRL long-tailed training lists for NTU RGB+D 60/120 and NW-UCLA, summaries, histograms."""

from longtail_lab.pipelines.ntu_lt.pipeline import create_pipeline

__all__ = ["create_pipeline"]
