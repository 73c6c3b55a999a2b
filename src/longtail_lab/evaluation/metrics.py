"""Classification metrics for long-tailed evaluation, computed from logits in one pass."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torchmetrics.functional.classification import multiclass_accuracy, multiclass_calibration_error

from longtail_lab.data.lists.long_tail import shot_groups
from longtail_lab.params import ParamBlock, setting


@dataclass(frozen=True, kw_only=True)
class EvaluationParams(ParamBlock):
    batch_size: int = setting(512, ge=1)  # images per forward pass
    ece_bins: int = setting(15, ge=1)  # bins of the expected calibration error


def _nan_to_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def classification_metrics(
    logits: torch.Tensor, labels: torch.Tensor, train_counts: Sequence[int], ece_bins: int = 15
) -> tuple[dict, np.ndarray]:
    """top-1 (micro), many / medium / few (mean of per-class accuracies in each group), ECE.

    Returns the metrics and the per-class accuracy (NaN for classes absent from the test set).
    """
    num_classes = logits.shape[1]
    labels = labels.long()
    per_class = multiclass_accuracy(logits, labels, num_classes, average=None).numpy().astype(np.float64)
    present = np.bincount(labels.numpy(), minlength=num_classes) > 0
    per_class[~present] = np.nan
    groups = shot_groups(np.asarray(train_counts))
    metrics = {
        "top1": float((logits.argmax(1) == labels).float().mean()) if len(labels) else float("nan"),
        "num_test": len(labels),
        "ece": float(multiclass_calibration_error(logits.softmax(1), labels, num_classes, n_bins=ece_bins)),
    }
    for name, ids in groups.items():
        values = per_class[ids] if ids else np.array([])
        values = values[~np.isnan(values)]
        metrics[name] = _nan_to_none(values.mean()) if values.size else None
        metrics[f"{name}_classes"] = len(ids)
    return metrics, per_class


def per_class_table(
    per_class: np.ndarray, train_counts: Sequence[int], test_counts: Sequence[int], classes: Sequence[str]
) -> pd.DataFrame:
    groups = shot_groups(np.asarray(train_counts))
    group_of = {c: name for name, ids in groups.items() for c in ids}
    return pd.DataFrame(
        {
            "class_id": np.arange(len(classes)),
            "class_name": list(classes),
            "train_count": np.asarray(train_counts, dtype=np.int64),
            "test_count": np.asarray(test_counts, dtype=np.int64),
            "shot_group": [group_of[c] for c in range(len(classes))],
            "accuracy": per_class,
        }
    )


def subset_accuracy_table(correct: torch.Tensor, subsets: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Top-1 on each named subset of the evaluated samples (e.g. the test-agnostic distributions)."""
    rows = []
    for name, idx in subsets.items():
        idx_t = torch.as_tensor(np.asarray(idx, dtype=np.int64))
        acc = float(correct[idx_t].float().mean()) if len(idx_t) else float("nan")
        rows.append({"distribution": name, "num_test": len(idx_t), "top1": acc})
    return pd.DataFrame(rows, columns=["distribution", "num_test", "top1"])


def long_tail_report(
    logits: torch.Tensor,
    labels: np.ndarray,
    classes: Sequence[str],
    train_counts: Sequence[int],
    subsets: Mapping[str, np.ndarray],
    ece_bins: int = 15,
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Metrics (top-1, many/medium/few, ECE, ``test_agnostic``), the per-class table and the subset table."""
    labels_t = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    metrics, per_class = classification_metrics(logits, labels_t, train_counts, ece_bins)
    agnostic = subset_accuracy_table(logits.argmax(1) == labels_t, subsets)
    metrics["test_agnostic"] = dict(zip(agnostic["distribution"], agnostic["top1"], strict=True))
    test_counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes))
    return metrics, per_class_table(per_class, train_counts, test_counts, classes), agnostic
