"""Named losses: cross-entropy and balanced softmax."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from longtail_lab.engine.batches import LabelledBatch
from longtail_lab.methods.losses import BalancedSoftmax, CrossEntropy, build_loss, soft_cross_entropy
from longtail_lab.methods.supervised import SupervisedObjective
from longtail_lab.models.outputs import ModelOutput

LOGITS = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.0, -1.0], [-0.3, 0.2, 0.9]])
TARGETS = torch.tensor([0, 2, 1])


def _hand_ce(logits, targets, shift=(0.0, 0.0, 0.0)) -> float:
    total = 0.0
    for row, target in zip(logits.tolist(), targets.tolist(), strict=True):
        z = [v + s for v, s in zip(row, shift, strict=True)]
        total += -(z[target] - math.log(sum(math.exp(v) for v in z)))
    return total / len(targets)


def test_build_loss_ce_is_cross_entropy():
    loss = build_loss("ce", [5, 3, 1])
    assert isinstance(loss, CrossEntropy)
    assert loss(LOGITS, TARGETS).item() == pytest.approx(_hand_ce(LOGITS, TARGETS), rel=1e-6)


def test_balanced_softmax_adds_the_log_prior_by_hand():
    counts = [6, 3, 1]
    loss = build_loss("balanced_softmax", counts)
    assert isinstance(loss, BalancedSoftmax)
    prior = [c / sum(counts) for c in counts]
    expected = _hand_ce(LOGITS, TARGETS, shift=[math.log(p) for p in prior])
    assert loss(LOGITS, TARGETS).item() == pytest.approx(expected, rel=1e-6)
    # and it is not plain cross-entropy on this example
    assert abs(expected - _hand_ce(LOGITS, TARGETS)) > 0.1


def test_balanced_softmax_with_uniform_counts_is_plain_ce():
    torch.manual_seed(0)
    logits, targets = torch.randn(20, 5), torch.randint(0, 5, (20,))
    balanced = build_loss("balanced_softmax", [7] * 5)(logits, targets)
    assert balanced.item() == pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-6)


def test_balanced_softmax_favours_rare_targets_in_the_loss():
    # identical logits, so the loss only reflects the prior: a rare target costs more during training
    loss = build_loss("balanced_softmax", [90, 10])
    zeros = torch.zeros(1, 2)
    assert loss(zeros, torch.tensor([1])).item() == pytest.approx(-math.log(0.1), rel=1e-5)
    assert loss(zeros, torch.tensor([0])).item() == pytest.approx(-math.log(0.9), rel=1e-5)


def test_unknown_loss_names_the_parameter():
    with pytest.raises(ValueError, match=r"parameter 'loss'.*'focal'.*balanced_softmax.*ce"):
        build_loss("focal", [1, 2])


class LinearClassifier(torch.nn.Linear):
    """The model contract: ``model(x)`` gives logits, ``model(x, details=True)`` a ``ModelOutput``."""

    def forward(self, x, details=False):
        logits = super().forward(x)
        return ModelOutput(logits, logits[None], x) if details else logits


def test_soft_cross_entropy_matches_class_ids_for_one_hot_rows_and_stays_finite():
    logits, targets = torch.randn(6, 4), torch.tensor([0, 3, 1, 2, 2, 0])
    onehot = F.one_hot(targets, 4).float()
    assert soft_cross_entropy(logits, onehot).item() == pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-6)
    huge = torch.tensor([[1000.0, -1000.0]])  # log(softmax) would give -inf * 0 = nan here
    assert torch.isfinite(soft_cross_entropy(huge, torch.tensor([[0.5, 0.5]])))


def test_supervised_objective_returns_loss_and_accuracy_observations():
    model = LinearClassifier(4, 3)
    images, targets = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    objective = SupervisedObjective(build_loss("balanced_softmax", [3, 2, 1])).to(torch.device("cpu"))
    loss, metrics = objective.loss(model, LabelledBatch(images, targets, torch.arange(5)), epoch=0)
    logits = model(images)
    assert list(metrics) == ["train_acc"] and metrics["train_acc"].dtype == torch.bool
    assert torch.equal(metrics["train_acc"], logits.argmax(1) == targets)
    prior = torch.tensor([3.0, 2.0, 1.0]) / 6
    assert loss.item() == pytest.approx(F.cross_entropy(logits + prior.log(), targets).item(), rel=1e-5)
