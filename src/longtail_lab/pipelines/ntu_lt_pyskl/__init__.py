"""``ntu_lt_pyskl``: a PYSKL annotation pickle restricted to one long-tailed list of ``ntu_lt``."""

from longtail_lab.pipelines.ntu_lt_pyskl.pipeline import create_pipeline

__all__ = ["create_pipeline"]
