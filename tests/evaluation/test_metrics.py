"""Long-tail metrics on hand-made predictions with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from longtail_lab.evaluation.metrics import classification_metrics, per_class_table, subset_accuracy_table

# classes 0,1: many (> 100); 2,3: medium (20..100); 4,5: few (< 20)
TRAIN_COUNTS = [200, 150, 50, 20, 5, 2]
# (label, prediction) pairs: class 0 3/4 right, class 1 2/2, class 2 1/4, class 3 0/1, class 4 1/2, class 5 absent
PAIRS = [
    (0, 0), (0, 0), (0, 0), (0, 1),
    (1, 1), (1, 1),
    (2, 2), (2, 0), (2, 0), (2, 3),
    (3, 4),
    (4, 4), (4, 0),
]  # fmt: skip


def _logits(predictions, num_classes=6, margin=4.0):
    return torch.nn.functional.one_hot(torch.tensor(predictions), num_classes).float() * margin


@pytest.fixture
def example():
    labels = torch.tensor([label for label, _ in PAIRS])
    logits = _logits([pred for _, pred in PAIRS])
    return logits, labels


def test_group_means_are_means_of_per_class_accuracy(example):
    metrics, per_class = classification_metrics(*example, TRAIN_COUNTS)
    assert metrics["many"] == pytest.approx((0.75 + 1.0) / 2)
    assert metrics["medium"] == pytest.approx((0.25 + 0.0) / 2)
    assert metrics["few"] == pytest.approx(0.5)  # class 5 has no test images and is ignored
    assert (metrics["many_classes"], metrics["medium_classes"], metrics["few_classes"]) == (2, 2, 2)


def test_top1_is_micro_accuracy(example):
    metrics, _ = classification_metrics(*example, TRAIN_COUNTS)
    assert metrics["top1"] == pytest.approx(7 / 13)
    assert metrics["num_test"] == 13


def test_per_class_accuracy_with_absent_class_as_nan(example):
    _, per_class = classification_metrics(*example, TRAIN_COUNTS)
    assert per_class.shape == (6,)
    assert per_class[:5] == pytest.approx([0.75, 1.0, 0.25, 0.0, 0.5])
    assert math.isnan(per_class[5])


def test_empty_group_is_none():
    labels = torch.tensor([0, 1, 1])
    metrics, _ = classification_metrics(_logits([0, 1, 0], 2), labels, [10, 5])
    assert metrics["many"] is None
    assert metrics["medium"] is None
    assert metrics["few"] == pytest.approx((1.0 + 0.5) / 2)
    assert metrics["many_classes"] == 0


def test_group_with_only_absent_classes_is_none():
    labels = torch.tensor([0, 0])
    metrics, _ = classification_metrics(_logits([0, 0], 3), labels, [200, 50, 5])
    assert metrics["many"] == 1.0
    assert metrics["medium"] is None
    assert metrics["few"] is None
    assert metrics["medium_classes"] == 1


def test_ece_zero_for_confident_correct_predictions():
    labels = torch.tensor([0, 1, 2, 2, 1])
    metrics, _ = classification_metrics(_logits(labels.tolist(), 3, margin=100.0), labels, [200, 50, 5])
    assert metrics["ece"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["top1"] == 1.0


def test_ece_of_uncertain_correct_predictions():
    # two classes, equal logits: confidence 0.5, argmax class 0, every label 0 -> accuracy 1, ECE 0.5
    labels = torch.zeros(8, dtype=torch.long)
    metrics, _ = classification_metrics(torch.zeros(8, 2), labels, [200, 5])
    assert metrics["ece"] == pytest.approx(0.5, abs=1e-6)


def test_subset_accuracy_table_values():
    correct = torch.tensor([True, False, True, True, False, True])
    table = subset_accuracy_table(
        correct, {"forward2": np.array([0, 1]), "uniform": np.arange(6), "b": [2, 3], "empty": np.array([], int)}
    )
    assert list(table.columns) == ["distribution", "num_test", "top1"]
    assert table["distribution"].tolist() == ["forward2", "uniform", "b", "empty"]
    assert table["num_test"].tolist() == [2, 6, 2, 0]
    assert table["top1"].tolist()[:3] == pytest.approx([0.5, 4 / 6, 1.0])
    assert math.isnan(table["top1"].iloc[3])


def test_per_class_table_columns_and_groups():
    per_class = np.array([0.75, 1.0, 0.25, 0.0, 0.5, np.nan])
    table = per_class_table(per_class, TRAIN_COUNTS, [4, 2, 4, 1, 2, 0], [f"c{i}" for i in range(6)])
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["class_id", "class_name", "train_count", "test_count", "shot_group", "accuracy"]
    assert table["class_id"].tolist() == list(range(6))
    assert table["class_name"].tolist() == ["c0", "c1", "c2", "c3", "c4", "c5"]
    assert table["train_count"].tolist() == TRAIN_COUNTS
    assert table["test_count"].tolist() == [4, 2, 4, 1, 2, 0]
    assert table["shot_group"].tolist() == ["many", "many", "medium", "medium", "few", "few"]
    assert table["accuracy"].iloc[:5].tolist() == pytest.approx(per_class[:5].tolist())
    assert math.isnan(table["accuracy"].iloc[5])
