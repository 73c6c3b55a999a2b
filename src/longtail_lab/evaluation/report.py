"""What a run's reports hold beside the metrics: the order of test distributions, rounding, provenance."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import pandas as pd

_DISTRIBUTION = re.compile(r"^(forward|backward)(\d+(?:\.\d+)?)$")


def distribution_position(name: str) -> tuple[float, str]:
    """Sort key of a test distribution: forward50 ... forward2, uniform, backward2 ... backward50 (SADE's order,
    the most head-heavy first); other names go last, alphabetically."""
    if name == "uniform":
        return (0.0, name)
    match = _DISTRIBUTION.match(name)
    if not match:
        return (math.inf, name)
    ratio = float(match.group(2))
    return (-ratio if match.group(1) == "forward" else ratio, name)


def in_distribution_order(names: Iterable[str]) -> list[str]:
    return sorted(names, key=distribution_position)


def ordered(mapping: Mapping[str, object]) -> dict:
    """``mapping`` with its keys in test-distribution order."""
    return {name: mapping[name] for name in in_distribution_order(mapping)}


def summary_line(metrics: Mapping[str, object], keys=("top1", "many", "medium", "few")) -> str:
    """'top-1 0.4123 many 0.6001 medium 0.4012 few n/a (no class)' for a log line: accuracies to 4 decimals, a
    shot group without any class (a small split has no many-shot class) said as such instead of 'None'."""
    names = {"top1": "top-1", "ece": "ECE"}
    parts = []
    for key in keys:
        value = metrics.get(key)
        parts.append(f"{names.get(key, key)} " + ("n/a (no class)" if value is None else f"{float(value):.4f}"))
    return " ".join(parts)


def rounded(value, digits: int = 4):
    """Floats (also inside dicts, lists and DataFrames) rounded to ``digits`` significant digits; NaN stays."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return value if not math.isfinite(value) or value == 0 else float(f"{value:.{digits}g}")
    if isinstance(value, Mapping):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    if isinstance(value, pd.DataFrame):
        out = value.copy()
        for column in out.columns:
            if pd.api.types.is_float_dtype(out[column]):
                out[column] = out[column].map(lambda v: rounded(float(v), digits))
        return out
    return value


def provenance(run_config: Mapping, split_summary: Mapping, checkpoint: Mapping | None = None) -> dict:
    """Where a result comes from: the Kedro environment, the dataset, the split's settings and content, the
    test-agnostic lists' settings, the run (id, pipelines, overrides, versions) and the training fingerprint."""
    run = dict(run_config.get("run", {}))
    out = {
        "kedro_env": run.get("env"),
        "dataset": run_config.get("dataset"),
        "split": {
            **dict(run_config.get("split", {})),
            "total": split_summary.get("total"),
            "content_sha256": split_summary.get("content_sha256"),
        },
        "test_agnostic_settings": dict(run_config.get("test_agnostic", {})),
        "run": run,
    }
    if checkpoint is not None:
        out["fingerprint"] = checkpoint.get("fingerprint")
    return out
