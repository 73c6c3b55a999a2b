"""Reflective learning: review masking and KL, class medians and soft targets, the gradient projection,
the objective's memory across epochs, official quirks, and exact resume of a reflective run."""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from longtail_lab.data.images.augment import AugmentParams
from longtail_lab.engine.batches import LabelledBatch
from longtail_lab.engine.checkpoints import RunCheckpoints
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.image_training import fit_images
from longtail_lab.engine.step import StepContext
from longtail_lab.methods.losses import BalancedSoftmax, CrossEntropy
from longtail_lab.methods.objectives import build_objective
from longtail_lab.methods.reflective import (
    ReflectiveObjective,
    ReflectiveOptions,
    batch_class_counts,
    class_medians,
    class_similarity,
    project_conflicting,
    review_loss,
    soft_targets,
)
from longtail_lab.models import build_model, model_signature
from longtail_lab.models.outputs import ModelOutput
from tests.fixtures import tiny_cifar


# ------------------------------------------------------------------------------------------ review
def _kl(q_logits, p_logits, t):
    q = [math.exp(v / t) for v in q_logits]
    q = [v / sum(q) for v in q]
    p = [math.exp(v / t) for v in p_logits]
    p = [v / sum(p) for v in p]
    return sum(a * math.log(a / b) for a, b in zip(q, p, strict=True))


def test_review_loss_is_the_mean_kl_over_correct_stored_predictions_by_hand():
    student = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 1.0], [0.5, 0.5, 0.0], [0.0, 0.0, 3.0]])
    teacher = torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, 3.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    targets = torch.tensor([0, 1, 0, 2])  # row 1's stored prediction (class 2) is wrong -> excluded
    valid = torch.tensor([True, True, True, False])  # row 3 has no stored prediction -> excluded
    loss, keep, rows = review_loss(student, teacher, targets, valid, temperature=2.0)
    assert keep.tolist() == [True, False, True, False]
    assert rows[0].item() == pytest.approx(_kl(teacher[0].tolist(), student[0].tolist(), 2), rel=1e-5)
    expected = (_kl(teacher[0].tolist(), student[0].tolist(), 2) + _kl(teacher[2].tolist(), student[2].tolist(), 2)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_review_loss_with_no_kept_row_is_zero_with_zero_gradient():
    student = torch.randn(3, 4, requires_grad=True)
    loss, keep, _ = review_loss(
        student, torch.randn(3, 4), torch.tensor([0, 1, 2]), torch.zeros(3, dtype=torch.bool), 2.0
    )
    loss.backward()
    assert loss.item() == 0.0 and not keep.any()
    assert torch.equal(student.grad, torch.zeros(3, 4))


def test_batch_class_counts():
    assert batch_class_counts(torch.tensor([0, 1, 0, 2, 0]), 4).tolist() == [3, 1, 3, 1, 3]


# ----------------------------------------------------------------------------------------- summary
def test_class_medians_match_torch_median_per_class_including_even_counts_and_empty_classes():
    gen = torch.Generator().manual_seed(0)
    labels = torch.tensor([3, 0, 1, 3, 0, 3, 1, 0, 0, 3])  # class 2 empty; counts 4, 2, 0, 4
    features = torch.randn(10, 7, generator=gen)
    medians = class_medians(features, labels, num_classes=4, chunk=3)  # chunk < D exercises the column loop
    for c in (0, 1, 3):
        assert torch.equal(medians[c], features[labels == c].median(dim=0).values), c
    assert torch.equal(medians[2], torch.zeros(7))


def test_class_similarity_is_the_clamped_cosine_matrix():
    centres = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    s = class_similarity(centres)
    assert s.diagonal().tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert s[0, 1].item() == pytest.approx(1 / math.sqrt(2), rel=1e-6)
    assert s[0, 2].item() == pytest.approx(0.0, abs=1e-7)
    assert torch.equal(s, s.T)


def test_soft_targets_rows_sum_to_one_keep_the_label_and_follow_the_formula():
    s = class_similarity(torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 0.0, 1.0]]))
    rows = s.softmax(1)
    targets = torch.tensor([0, 1, 2, 1])
    soft = soft_targets(targets, 3, rows, alpha=0.01, smoothing=0.1)
    assert soft.sum(1).tolist() == pytest.approx([1.0] * 4)
    assert soft.argmax(1).tolist() == targets.tolist()
    assert soft[0].tolist() == pytest.approx((0.99 * F.one_hot(torch.tensor(0), 3) + 0.01 * rows[0]).tolist())
    # class 0 is more similar to class 1 than to class 2, so it gets more of the alpha mass
    assert soft[0, 1] > soft[0, 2]
    first = soft_targets(targets, 3, None, alpha=0.01, smoothing=0.1)
    assert first[0].tolist() == pytest.approx([0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3])


# -------------------------------------------------------------------------------------- correction
def test_projection_removes_the_conflicting_component_per_tensor_and_adds_otherwise():
    main = torch.tensor([1.0, 0.0, 1.0, 2.0])
    review = torch.tensor([-1.0, 1.0, 3.0, 4.0])
    segments = torch.tensor([0, 0, 1, 1])  # two "parameter tensors" of two elements
    g, conflict = project_conflicting(main, review, segments, 2)
    # tensor 0: <y, x> = -1 < 0, |x|^2 = 1 -> g = x + y - (-1) x = [1, 1]; tensor 1: <y, x> = 11 > 0 -> x + y
    assert conflict.tolist() == [True, False]
    assert g.tolist() == pytest.approx([1.0, 1.0, 4.0, 6.0])
    # the added review part is orthogonal to the main gradient where they conflicted
    assert torch.dot(g[:2] - main[:2], main[:2]).item() == pytest.approx(0.0, abs=1e-7)


def test_projection_is_per_tensor_not_global():
    # globally <y, x> = -1 + 4 > 0, but tensor 0 conflicts on its own
    main, review = torch.tensor([1.0, 2.0]), torch.tensor([-1.0, 2.0])
    g, conflict = project_conflicting(main, review, torch.tensor([0, 1]), 2)
    assert conflict.tolist() == [True, False]
    assert g.tolist() == pytest.approx([1.0, 4.0])


# ------------------------------------------------------------------------------------ the objective
class TinyModel(torch.nn.Module):
    def __init__(self, d=4, c=3):
        super().__init__()
        self.body = torch.nn.Linear(d, d)
        self.head = torch.nn.Linear(d, c)

    def forward(self, x, details=False):
        f = torch.relu(self.body(x))
        logits = self.head(f)
        return ModelOutput(logits, logits[None], f) if details else logits


def _objective(**opts):
    return ReflectiveObjective(CrossEntropy(), num_samples=6, num_classes=3, options=ReflectiveOptions(**opts))


def test_memory_is_written_and_review_starts_in_the_second_epoch_by_default():
    torch.manual_seed(0)
    model, obj, ctx = TinyModel(), _objective(batch_class_temperature=False), StepContext()
    x, y, idx = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2]), torch.arange(6)
    loss, metrics = obj.loss(model, LabelledBatch(x, y, idx), epoch=0)
    logits = model(x, details=True).logits
    assert torch.equal(metrics["train_acc"], logits.argmax(1) == y)  # one observation per sample
    assert obj._parts[1].item() == 0.0  # nothing stored yet: no review term
    assert torch.equal(obj.memory, logits.detach())
    obj.backward(loss, ctx, model)
    obj.on_epoch_end(0, ctx)
    assert obj.has_memory.all() and obj.similarity_rows is not None
    stats = obj.epoch_metrics()
    assert stats["review_kept"] == 0.0
    with torch.no_grad():
        model.head.bias.add_(torch.tensor([5.0, 0.0, 0.0]))  # now the model predicts class 0 for everyone
    obj.loss(model, LabelledBatch(x, y, idx), epoch=1)
    prev = obj.memory  # overwritten with the new logits...
    assert torch.allclose(prev[:, 0] - logits.detach()[:, 0], torch.full((6,), 5.0), atol=1e-5)


def test_released_review_keeps_class_zero_samples_in_epoch_one_and_divides_by_batch_counts():
    """Both released-code options on: the epoch-1 all-zero memory and the per-batch class-count temperature."""
    torch.manual_seed(0)
    model, obj = TinyModel(), _objective(first_epoch_zero_memory=True, batch_class_temperature=True)
    x, y, idx = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 0, 2]), torch.arange(6)
    obj.loss(model, LabelledBatch(x, y, idx), epoch=0)
    stats_kept = obj._stats[1].item()
    assert stats_kept == 3  # the all-zero memory "predicts" class 0, so the three class-0 samples count
    logits = model(x)
    counts = torch.tensor([3.0, 1.0, 2.0, 3.0, 3.0, 2.0])[:, None]
    assert torch.allclose(obj.memory, logits.detach() / counts, atol=1e-6)
    # and the epoch-1 review pulls them towards uniform: KL(uniform || softmax(z / n / T)) on those rows
    expected = sum(_kl([0.0] * 3, (logits[i] / counts[i]).tolist(), 2.0) for i in (0, 3, 4)) / 3
    assert obj._parts[1].item() == pytest.approx(4.0 * expected, rel=1e-4)


def test_the_class_count_temperature_is_on_by_default_and_independent_of_the_epoch_one_option():
    torch.manual_seed(0)
    x, y, idx = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 0, 2]), torch.arange(6)
    counts = torch.tensor([3.0, 1.0, 2.0, 3.0, 3.0, 2.0])[:, None]
    model = TinyModel()
    logits = model(x).detach()
    default = _objective()
    assert default.options.batch_class_temperature and not default.options.first_epoch_zero_memory
    default.loss(model, LabelledBatch(x, y, idx), epoch=0)
    assert torch.allclose(default.memory, logits / counts, atol=1e-6)  # stored divided...
    assert default._stats[1].item() == 0  # ...but nothing reviewed in epoch 1 (no stored prediction)
    zero_memory_only = _objective(first_epoch_zero_memory=True, batch_class_temperature=False)
    zero_memory_only.loss(model, LabelledBatch(x, y, idx), epoch=0)
    assert zero_memory_only._stats[1].item() == 3 and torch.allclose(zero_memory_only.memory, logits, atol=1e-6)


def test_review_diagnostics_by_shot_group():
    """review_kept / review_loss per many / medium / few class, from the training counts."""
    torch.manual_seed(0)
    model = TinyModel()
    obj = ReflectiveObjective(
        CrossEntropy(), 6, 3, ReflectiveOptions(batch_class_temperature=False), class_counts=[150, 50, 5]
    )
    x, y, idx = torch.randn(6, 4), torch.tensor([0, 0, 1, 1, 2, 2]), torch.arange(6)
    obj.loss(model, LabelledBatch(x, y, idx), epoch=0)
    obj.on_epoch_end(0, StepContext())
    obj.epoch_metrics()
    with torch.no_grad():  # the stored predictions were the logits; make them say "class 0" for every sample
        obj.memory.copy_(torch.tensor([[9.0, 0.0, 0.0]]).expand(6, 3))
    obj.loss(model, LabelledBatch(x, y, idx), epoch=1)
    stats = obj.epoch_metrics()
    assert (stats["review_kept_many"], stats["review_kept_medium"], stats["review_kept_few"]) == (1.0, 0.0, 0.0)
    assert stats["review_kept"] == pytest.approx(2 / 6)
    assert (
        stats["review_loss_many"] > 0
        and math.isnan(stats["review_loss_medium"])
        and math.isnan(stats["review_loss_few"])
    )
    # the group's loss is the mean weighted KL of its kept rows; here every kept row is a many-shot one
    assert stats["review_loss"] == pytest.approx(stats["review_loss_many"], rel=1e-5)


def test_backward_writes_the_projected_gradient():
    torch.manual_seed(1)
    model, obj, ctx = TinyModel(), _objective(), StepContext()
    x, y, idx = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2]), torch.arange(6)
    obj.loss(model, LabelledBatch(x, y, idx), 0)
    obj.on_epoch_end(0, ctx)
    with torch.no_grad():
        model.head.weight.mul_(-1.0)  # make the current prediction disagree with the stored one
    loss, _ = obj.loss(model, LabelledBatch(x, y, idx), 1)
    main, kr = obj._parts
    params = list(model.parameters())
    gx = torch.autograd.grad(main, params, retain_graph=True)
    gy = torch.autograd.grad(kr, params, retain_graph=True)
    obj.backward(loss, ctx, model)
    for p, a, b in zip(params, gx, gy, strict=True):
        dot = (a * b).sum()
        expected = a + b - (dot / (a * a).sum()) * a if dot < 0 else a + b
        assert torch.allclose(p.grad, expected, atol=1e-6)


def test_state_round_trip_restores_memory_and_similarity():
    torch.manual_seed(0)
    model, obj, ctx = TinyModel(), _objective(), StepContext()
    x, y, idx = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2]), torch.arange(6)
    obj.loss(model, LabelledBatch(x, y, idx), 0)
    obj.on_epoch_end(0, ctx)
    fresh = _objective()
    fresh.load_state_dict(obj.state_dict())
    assert torch.equal(fresh.memory, obj.memory) and torch.equal(fresh.has_memory, obj.has_memory)
    assert torch.equal(fresh.similarity_rows, obj.similarity_rows)
    with pytest.raises(ValueError, match="does not fit a split of 7 samples"):
        ReflectiveObjective(CrossEntropy(), 7, 3, ReflectiveOptions()).load_state_dict(obj.state_dict())


def test_options_errors_name_the_parameter():
    with pytest.raises(ValueError, match=r"reflective_learning.temprature' is unknown \(did you mean 'temperature'"):
        ReflectiveOptions.from_params({"temprature": 2})
    with pytest.raises(ValueError, match=r"reflective_learning.alpha' must be a finite number >= 0 and <= 1, got 2"):
        ReflectiveOptions.from_params({"alpha": 2})
    with pytest.raises(ValueError, match=r"'cifar_lt_rl.reflective_learning.correction' needs review: true"):
        ReflectiveOptions.from_params({"review": False}, "cifar_lt_rl.reflective_learning")
    with pytest.raises(
        ValueError, match=r"'reflective_learning.official_quirks' is unknown; known keys: .*batch_class"
    ):
        ReflectiveOptions.from_params({"official_quirks": True})
    with pytest.raises(ValueError, match="correction' needs 'review'"):
        ReflectiveObjective(CrossEntropy(), 6, 3, ReflectiveOptions(review=False))


def test_review_weight_defaults_to_the_ltrl_values():
    counts = [5, 3, 1]
    assert build_objective("sade", counts, 9, reflective=True).review_weight == 12.0
    assert build_objective("bsce", counts, 9, reflective=True).review_weight == 4.0
    assert build_objective("ce", counts, 9, reflective=True).review_weight == 4.0
    custom = build_objective(
        "bsce", counts, 9, reflective=True, reflective_options=ReflectiveOptions(review_weight=1.5)
    )
    assert custom.review_weight == 1.5
    assert isinstance(build_objective("bsce", counts, 9).loss_fn, BalancedSoftmax)


# ---------------------------------------------------------------------------------- exact resume
class Interrupted(Exception):
    pass


class InterruptedReflective(ReflectiveObjective):
    def loss(self, model, batch, epoch):
        if epoch == 2:
            raise Interrupted
        return super().loss(model, batch, epoch)


# the released-review variant runs in the slow tier (the default variant covers the resume path in every run)
@pytest.mark.parametrize(
    "released", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["default", "released_review"]
)
def test_interrupted_reflective_run_resumes_to_the_same_weights_and_memory(tmp_path, released):
    train, _ = tiny_cifar(10, train_per_class=12, test_per_class=1, seed=5)
    cfg = TrainConfig.from_params(
        {"epochs": 3, "batch_size": 40, "warmup_epochs": 1, "milestones": [2], "accelerator": "cpu", "progress": False}
    )
    make = partial(build_model, "resnet32", 10, widths=(4, 8, 8))
    sig = model_signature("resnet32", 10, widths=[4, 8, 8])
    opts = ReflectiveOptions(first_epoch_zero_memory=released)

    def objective(cls=ReflectiveObjective):
        return cls(BalancedSoftmax(train.class_counts()), len(train), 10, opts)

    full_obj = objective()
    full = fit_images(
        train, make, full_obj, AugmentParams(padding=4), cfg, sig, RunCheckpoints(tmp_path / "a"), "f" * 16
    )
    store = RunCheckpoints(tmp_path / "b")
    with pytest.raises(Interrupted):
        fit_images(train, make, objective(InterruptedReflective), AugmentParams(padding=4), cfg, sig, store, "f" * 16)
    resumed_obj = objective()
    resumed = fit_images(train, make, resumed_obj, AugmentParams(padding=4), cfg, sig, store, "f" * 16)
    assert resumed.stats["resumed_from_epoch"] == 2
    for key, value in full.model_state.items():
        assert torch.equal(value, resumed.model_state[key]), key
    assert torch.equal(full_obj.memory, resumed_obj.memory)
    assert torch.equal(full_obj.centres, resumed_obj.centres)
    assert [r["review_loss"] for r in resumed.history] == [r["review_loss"] for r in full.history]
    assert full.history[-1]["review_kept"] > 0  # the review term was really active


@pytest.mark.slow  # spawns two gloo ranks: about 20 s
def test_reflective_run_on_two_ddp_ranks_merges_the_memory_of_both_shards(tmp_path):
    """devices=2: each rank sees half of every epoch; the checkpointed memory covers every sample."""
    train, _ = tiny_cifar(10, train_per_class=12, test_per_class=1, seed=5)
    cfg = TrainConfig.from_params(
        {"epochs": 2, "batch_size": 20, "warmup_epochs": 1, "milestones": [], "accelerator": "cpu", "progress": False}
    )
    cfg = dataclasses.replace(cfg, devices=2)
    make = partial(build_model, "resnet32", 10, widths=(4, 8, 8))
    objective = ReflectiveObjective(BalancedSoftmax(train.class_counts()), len(train), 10, ReflectiveOptions())
    store = RunCheckpoints(tmp_path)
    sig = model_signature("resnet32", 10, widths=[4, 8, 8])
    result = fit_images(train, make, objective, AugmentParams(padding=4), cfg, sig, store, "d" * 16)
    assert result.stats["world_size"] == 2
    state = torch.load(store.path("d" * 16), weights_only=True)["objective"]
    assert bool(state["has_memory"].all())  # rows written on rank 1 reached rank 0
    assert bool((state["memory"].abs().sum(1) > 0).all())
    assert state["centres"].shape == (10, 8) and bool(torch.isfinite(state["centres"]).all())
    assert bool((state["centres"].abs().sum(1) > 0).all())  # every class had features from some rank
    assert all(torch.isfinite(v.float()).all() for v in result.model_state.values())
    assert "review_loss" in result.history[-1]
