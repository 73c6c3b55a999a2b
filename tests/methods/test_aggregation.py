"""SADE test-time aggregation: weighted logits, the stability objective on cached views, the view cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from longtail_lab.data.images.augment import DeviceAugment, StrongViewAugment
from longtail_lab.engine.predict import predict_expert_logits, predict_logits
from longtail_lab.methods.aggregation import (
    AggregationResult,
    ViewLogitsCache,
    aggregate_all,
    aggregate_logits,
    learn_expert_weights,
)
from longtail_lab.models.outputs import ModelOutput


class FakeExperts(nn.Module):
    """E linear "experts" on the flattened image, following the ``forward(x, details=False)`` contract."""

    num_experts = 3

    def __init__(self, num_classes: int = 4, size: int = 8) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.heads = nn.Parameter(torch.randn(self.num_experts, 3 * size * size, num_classes) * 0.1)
        self.calls = 0

    def forward(self, x: torch.Tensor, details: bool = False) -> torch.Tensor | ModelOutput:
        self.calls += 1
        flat = x.reshape(len(x), -1)
        experts = torch.einsum("bd,edc->ebc", flat, self.heads)
        logits = experts.mean(0)
        return ModelOutput(logits, experts, flat) if details else logits


def _images(n: int, size: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _toy_views(n: int, stable: float, flip: float):
    """Expert 0 predicts class 0 on both views; experts 1 and 2 flip between two classes of their own."""
    v1, v2 = torch.zeros(3, n, 5), torch.zeros(3, n, 5)
    v1[0, :, 0] = v2[0, :, 0] = stable
    v1[1, :, 1], v2[1, :, 2] = flip, flip
    v1[2, :, 3], v2[2, :, 4] = flip, flip
    return lambda epoch: (v1, v2)


# ---------------------------------------------------------------- aggregate_logits


def test_aggregate_logits_is_the_weighted_sum_of_logits():
    experts = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])  # E=2, N=1, C=2
    out = aggregate_logits(experts, [0.25, 0.75])
    torch.testing.assert_close(out, torch.tensor([[0.25 * 1 + 0.75 * 3, 0.25 * 2 + 0.75 * 4]]))  # [[2.5, 3.5]]
    with pytest.raises(ValueError, match="3 weights for 2 experts"):
        aggregate_logits(experts, [0.2, 0.3, 0.5])


# ---------------------------------------------------------------- learn_expert_weights


def test_identical_experts_keep_uniform_weights():
    logits = torch.randn(1, 300, 10, generator=torch.Generator().manual_seed(0))
    v1 = logits.expand(3, -1, -1)
    v2 = (logits + torch.randn(1, 300, 10, generator=torch.Generator().manual_seed(1))).expand(3, -1, -1)
    result = learn_expert_weights(lambda epoch: (v1, v2), np.arange(300))
    # the aggregate does not depend on w, the gradient is zero; weight decay shifts all a_k alike
    assert result.epochs_run == 5 and not result.stopped_early
    assert result.raw_weights[0] == result.raw_weights[1] == result.raw_weights[2]
    assert result.weights == pytest.approx([1 / 3] * 3, abs=1e-7)
    assert result.steps == 5 * 3  # ceil(300 / 128) batches per epoch


def test_stable_expert_gains_weight():
    result = learn_expert_weights(_toy_views(256, stable=4, flip=8), range(256))
    w = result.weights
    assert w[0] > 0.8 and w[1] == pytest.approx(w[2]) and min(w) > 0.05
    assert result.epochs_run == 5 and not result.stopped_early
    assert result.stability[-1] > result.stability[0]  # the views agree more and more
    assert result.steps == 5 * 2


def test_early_stop_fires_at_the_end_of_the_epoch_a_weight_drops_below_min_weight():
    result = learn_expert_weights(_toy_views(1280, stable=4, flip=8), range(1280))
    assert result.stopped_early and result.epochs_run == 2
    assert min(result.weights) < 0.05  # the weights after the epoch that fired
    assert len(result.stability) == 2 and result.steps == 2 * 10
    # one more epoch allowed than needed: min_weight = 0 never fires
    assert learn_expert_weights(_toy_views(1280, stable=4, flip=8), range(1280), min_weight=0).epochs_run == 5


def _hand_gradient(a, v1, v2):
    """d(-mean cos(softmax(sum_k w_k v1_k), softmax(sum_k w_k v2_k)))/da by the chain rule, float64."""
    w = np.exp(a) / np.exp(a).sum()
    dw_da = np.diag(w) - np.outer(w, w)
    grad_w = np.zeros_like(w)
    n = v1.shape[1]
    for i in range(n):
        ps, dps = [], []
        for v in (v1, v2):
            z = np.einsum("k,kc->c", w, v[:, i])
            p = np.exp(z - z.max())
            p /= p.sum()
            ps.append(p)
            dps.append((np.diag(p) - np.outer(p, p)) @ v[:, i].T)  # dp/dw: [C, E]
        p1, p2 = ps
        n1, n2 = np.linalg.norm(p1), np.linalg.norm(p2)
        cos = p1 @ p2 / (n1 * n2)
        dcos_dp1 = p2 / (n1 * n2) - cos * p1 / n1**2
        dcos_dp2 = p1 / (n1 * n2) - cos * p2 / n2**2
        grad_w -= (dcos_dp1 @ dps[0] + dcos_dp2 @ dps[1]) / n
    return dw_da.T @ grad_w


def test_first_sgd_step_matches_the_hand_computed_nesterov_update():
    g = torch.Generator().manual_seed(3)
    v1, v2 = torch.randn(3, 4, 5, generator=g) * 2, torch.randn(3, 4, 5, generator=g) * 2
    lr, mu, wd = 0.1, 0.9, 5e-4
    result = learn_expert_weights(lambda e: (v1, v2), range(4), epochs=1, lr=lr, momentum=mu, weight_decay=wd)
    assert result.steps == 1
    a0 = np.full(3, 1 / 3)
    grad = _hand_gradient(a0, v1.double().numpy(), v2.double().numpy())
    assert np.abs(grad).max() > 1e-3  # a real gradient, not a trivial case
    # first step: buf = g + wd * a0; Nesterov: d = (g + wd * a0) + mu * buf; a1 = a0 - lr * d
    expected = a0 - lr * (1 + mu) * (grad + wd * a0)
    np.testing.assert_allclose(result.raw_weights, expected, rtol=0, atol=1e-6)
    # without momentum the step is plain gradient descent with weight decay
    plain = learn_expert_weights(lambda e: (v1, v2), [0, 1, 2, 3], epochs=1, momentum=0, nesterov=False)
    np.testing.assert_allclose(plain.raw_weights, a0 - 0.1 * (grad + 5e-4 * a0), rtol=0, atol=1e-6)


def test_shuffling_is_seeded():
    views = (torch.randn(3, 200, 6, generator=torch.Generator().manual_seed(0)),) * 2
    views = (views[0], views[0] + 0.5 * torch.randn(3, 200, 6, generator=torch.Generator().manual_seed(1)))
    run = lambda seed: learn_expert_weights(lambda e: views, range(200), epochs=2, seed=seed).raw_weights  # noqa: E731
    assert run(0) == run(0)
    assert run(0) != run(1)


@pytest.mark.parametrize(
    "key,value",
    [
        ("epochs", 0),
        ("lr", 0.0),
        ("lr", float("nan")),
        ("momentum", 1.0),
        ("weight_decay", -1e-4),
        ("batch_size", 0),
        ("min_weight", 1.0),
        ("nesterov", "yes"),
    ],
)
def test_bad_parameters_are_named(key, value):
    views = _toy_views(10, 1, 1)
    with pytest.raises(ValueError, match=rf"aggregation\.{key}"):
        learn_expert_weights(views, range(10), **{key: value})


def test_nesterov_needs_momentum_and_subsets_are_checked():
    views = _toy_views(10, 1, 1)
    with pytest.raises(ValueError, match=r"aggregation\.nesterov.*momentum"):
        learn_expert_weights(views, range(10), momentum=0)
    with pytest.raises(ValueError, match="empty"):
        learn_expert_weights(views, [])
    with pytest.raises(ValueError, match="empty"):
        aggregate_all(views, {"uniform": [0, 1], "forward50": np.array([], dtype=np.int64)})
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        learn_expert_weights(views, [0, 10])
    with pytest.raises(ValueError, match="integer"):
        learn_expert_weights(views, np.ones(10, dtype=bool))
    assert aggregate_all(views, {}) == {}


def test_aggregate_all_starts_every_distribution_from_fresh_weights():
    n = 300
    g = torch.Generator().manual_seed(0)
    v1 = torch.randn(3, n, 6, generator=g)
    v2 = v1 + torch.randn(3, n, 6, generator=g) * torch.tensor([0.1, 1.0, 2.0]).view(3, 1, 1)
    calls = []

    def views(epoch):
        calls.append(epoch)
        return v1, v2

    subsets = {"uniform": np.arange(n), "head": np.arange(100), "tail": torch.arange(200, 300)}
    results = aggregate_all(views, subsets, epochs=3)
    assert list(results) == list(subsets)
    assert calls == [0, 1, 2]  # every epoch's views once for all distributions, in order
    for name, idx in subsets.items():
        alone = learn_expert_weights(lambda e: (v1, v2), idx, epochs=3)
        assert results[name] == alone
        assert isinstance(alone, AggregationResult) and alone.to_dict()["weights"] == alone.weights
        assert alone.weights[0] > 1 / 3  # the least noisy expert gains weight
    assert results["head"].weights != results["tail"].weights


# ---------------------------------------------------------------- predict_expert_logits and the cache


def test_predict_expert_logits_shape_and_consistency_with_predict_logits():
    torch.manual_seed(0)
    model = FakeExperts()
    images = _images(10)
    experts = predict_expert_logits(model, images, batch_size=4, device="cpu")
    assert experts.shape == (3, 10, 4) and experts.dtype == torch.float32
    assert not experts.is_inference()  # usable in an autograd graph
    torch.testing.assert_close(experts.mean(0), predict_logits(model, images, batch_size=4, device=torch.device("cpu")))
    # a random transform with a seeded generator
    aug = DeviceAugment(padding=2)
    a = predict_expert_logits(model, images, 4, "cpu", aug, torch.Generator().manual_seed(1))
    b = predict_expert_logits(model, torch.from_numpy(images), 4, "cpu", aug, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, experts)
    assert predict_expert_logits(model, images[:0], device="cpu").shape == (3, 0, 4)


def test_view_cache_computes_each_epoch_once_with_fresh_views():
    torch.manual_seed(0)
    model = FakeExperts()
    images = _images(20)
    cache = ViewLogitsCache(model, images, StrongViewAugment(groups=4), batch_size=8, device="cpu", seed=5)
    v1, v2 = cache(0)
    assert v1.shape == v2.shape == (3, 20, 4)
    assert model.calls == 2 * 3  # two views x ceil(20 / 8) batches
    again = cache(0)
    assert again[0] is v1 and model.calls == 6
    w1, w2 = cache(1)
    assert model.calls == 12 and cache.computed == [0, 1]
    assert not torch.equal(v1, v2)  # two independent views
    assert not torch.equal(v1, w1) and not torch.equal(v2, w2)  # fresh draws each epoch
    # the views of an epoch depend on (seed, epoch) only: asked first or recomputed after eviction, they are equal
    other = ViewLogitsCache(model, images, StrongViewAugment(groups=4), batch_size=8, device="cpu", seed=5)
    assert torch.equal(other(1)[0], w1) and torch.equal(other(1)[1], w2)
    small = ViewLogitsCache(model, images, StrongViewAugment(groups=4), 8, "cpu", seed=5, keep_epochs=1)
    first = small(0)[0]
    small(1)
    assert torch.equal(small(0)[0], first) and small.computed == [0, 1, 0]


def test_aggregation_on_a_view_cache_runs_end_to_end():
    torch.manual_seed(0)
    model = FakeExperts(num_classes=4)
    cache = ViewLogitsCache(model, _images(40), StrongViewAugment(), batch_size=16, device="cpu", seed=0)
    results = aggregate_all(cache, {"all": np.arange(40), "half": np.arange(0, 40, 2)}, epochs=2, batch_size=8)
    assert cache.computed == [0, 1]
    for r in results.values():
        assert sum(r.weights) == pytest.approx(1.0)
        assert len(r.stability) == r.epochs_run and all(-1 <= s <= 1 for s in r.stability)
