"""SADE's diverse-expert loss: the inverse prior and the three experts' adjustments, by hand."""

from __future__ import annotations

import math

import pytest
import torch

from longtail_lab.methods.losses import build_loss
from longtail_lab.methods.sade import DiverseExpertLoss, expert_adjustments, inverse_prior
from longtail_lab.models.outputs import ModelOutput


def test_inverse_prior_reverses_the_frequency_ranking_of_the_prior_values():
    # prior [.1, .4, .2, .3]: ranking 1 > 3 > 2 > 0, so class 1 gets the smallest value, class 0 the largest
    assert inverse_prior([10, 40, 20, 30]).tolist() == pytest.approx([0.4, 0.1, 0.3, 0.2])
    assert inverse_prior([6, 3, 1]).tolist() == pytest.approx([0.1, 0.3, 0.6])
    # it is a permutation of the prior, not 1/prior
    inv = inverse_prior([500, 120, 30, 5])
    assert sorted(inv.tolist()) == pytest.approx(sorted([500 / 655, 120 / 655, 30 / 655, 5 / 655]))


def test_expert_adjustments_rows_are_zero_log_prior_and_inverse():
    counts = [6, 3, 1]
    adj = expert_adjustments(counts, tau=2.0)
    log_pi = [math.log(c / 10 + 1e-9) for c in counts]
    log_inv = [math.log(v + 1e-9) for v in (0.1, 0.3, 0.6)]
    assert adj.shape == (3, 3)
    assert adj[0].tolist() == [0.0, 0.0, 0.0]
    assert adj[1].tolist() == pytest.approx(log_pi, rel=1e-6)
    assert adj[2].tolist() == pytest.approx([a - 2.0 * b for a, b in zip(log_pi, log_inv, strict=True)], rel=1e-6)


def _ce(z, y):
    return -(z[y] - math.log(sum(math.exp(v) for v in z)))


def test_diverse_expert_loss_is_the_sum_of_the_three_expert_losses_by_hand():
    counts = [6, 3, 1]
    experts = torch.tensor(
        [
            [[1.0, 0.0, -1.0], [0.2, 0.3, 0.1]],
            [[0.5, 0.5, 0.0], [-1.0, 2.0, 0.0]],
            [[0.0, 1.0, 2.0], [0.3, -0.2, 0.4]],
        ]
    )  # [E=3, B=2, C=3]
    targets = torch.tensor([2, 0])
    loss = DiverseExpertLoss(counts, tau=2.0)
    out = ModelOutput(experts.mean(0), experts, torch.zeros(2, 4))
    adj = expert_adjustments(counts, 2.0).tolist()
    expected = 0.0
    for k in range(3):
        for b in range(2):
            z = [v + a for v, a in zip(experts[k, b].tolist(), adj[k], strict=True)]
            expected += _ce(z, int(targets[b])) / 2
    assert loss(out, targets).item() == pytest.approx(expected, rel=1e-5)
    # one-hot soft targets give the same value as class ids
    onehot = torch.nn.functional.one_hot(targets, 3).float()
    assert loss(out, onehot).item() == pytest.approx(expected, rel=1e-5)


def test_tau_zero_makes_the_third_expert_a_balanced_softmax_expert():
    counts = [50, 5]
    adj = expert_adjustments(counts, tau=0.0)
    assert torch.equal(adj[1], adj[2])


def test_sade_loss_by_name_with_tau_and_clear_errors():
    loss = build_loss("sade", [5, 3, 1], tau=1.0)
    assert isinstance(loss, DiverseExpertLoss) and loss.tau == 1.0
    with pytest.raises(ValueError, match=r"3-expert model.*resnet32_experts.*1 expert"):
        loss(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"parameter 'method'.*'ce' does not take options \['tau'\]"):
        build_loss("ce", [1, 2], param="method", tau=2.0)
    with pytest.raises(ValueError, match=r"sade.tau"):
        build_loss("sade", [1, 2], tau=-1.0)
