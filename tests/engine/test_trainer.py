"""The training loop on CPU: exact resume, non-finite losses, refused checkpoints, history."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
import torch

from longtail_lab.data.images.augment import AugmentParams
from longtail_lab.engine.checkpoints import CheckpointError, RunCheckpoints, atomic_save
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.image_training import fit_images
from longtail_lab.errors import NonFiniteLossError
from longtail_lab.methods.losses import CrossEntropy
from longtail_lab.methods.supervised import SupervisedObjective
from longtail_lab.models import build_model, model_signature
from tests.fixtures import tiny_cifar

NUM_CLASSES = 10
WIDTHS = (4, 8, 8)
FP = "0123456789abcdef"
PLAIN = {"padding": 4}
HEAVY = {"padding": 4, "autoaugment": True, "autoaugment_groups": 4, "cutout": 8}
COMPARED = ("epoch", "loss", "train_acc", "images", "steps", "lr")


@pytest.fixture(scope="module")
def train_arrays():
    train, _ = tiny_cifar(NUM_CLASSES, train_per_class=20, test_per_class=1, seed=3)
    assert len(train) == 200
    return train


def make_cfg(**overrides) -> TrainConfig:
    """The checked 3-epoch configuration with ``overrides`` applied afterwards: shorter runs (``epochs=1``) are the
    first epochs of the same schedule, as an interrupted run would be."""
    values = {
        "epochs": 3,
        "batch_size": 48,
        "lr": 0.1,
        "warmup_epochs": 2,
        "milestones": [2],
        "accelerator": "cpu",
        "progress": False,
        "log_every": 2,
    }
    return dataclasses.replace(TrainConfig.from_params(values), **overrides)


def signature(num_classes=NUM_CLASSES, name="resnet32"):
    return model_signature(name, num_classes, widths=list(WIDTHS))


def make_model(num_classes=NUM_CLASSES):
    return build_model("resnet32", num_classes, widths=WIDTHS)


class Interrupted(Exception):
    pass


class CountingObjective(SupervisedObjective):
    def __init__(self) -> None:
        super().__init__(CrossEntropy())
        self.calls = 0

    def loss(self, model, batch, epoch):
        self.calls += 1
        return super().loss(model, batch, epoch)


class InterruptAt(SupervisedObjective):
    """Stops the run (like a killed job) at the first step of 0-based ``epoch``."""

    def __init__(self, epoch: int) -> None:
        super().__init__(CrossEntropy())
        self.stop_epoch = epoch

    def loss(self, model, batch, epoch):
        if epoch == self.stop_epoch:
            raise Interrupted(f"killed in epoch {epoch + 1}")
        return super().loss(model, batch, epoch)


class NaNAt(SupervisedObjective):
    """Returns a NaN loss from 1-based step ``step`` of 0-based ``epoch`` on."""

    def __init__(self, epoch: int, step: int) -> None:
        super().__init__(CrossEntropy())
        self.bad_epoch, self.bad_step = epoch, step
        self.steps: dict[int, int] = {}

    def loss(self, model, batch, epoch):
        self.steps[epoch] = self.steps.get(epoch, 0) + 1
        loss, metrics = super().loss(model, batch, epoch)
        if epoch == self.bad_epoch and self.steps[epoch] == self.bad_step:
            loss = loss * float("nan")
        return loss, metrics


def run(train, objective, store=None, augment=PLAIN, sig=None, model=make_model, **cfg):
    return fit_images(
        train,
        model,
        objective,
        AugmentParams.from_params(augment, "augment"),
        make_cfg(**cfg),
        sig or signature(),
        store,
        FP if store else None,
    )


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def compared(history):
    return [{k: r[k] for k in COMPARED} for r in history]


# the heavy-augmentation variant runs in the slow tier (crop_flip covers the resume path in every run)
@pytest.mark.parametrize(
    "augment", [PLAIN, pytest.param(HEAVY, marks=pytest.mark.slow)], ids=["crop_flip", "autoaugment_cutout"]
)
def test_interrupted_run_resumes_to_the_same_result(tmp_path, train_arrays, augment):
    full = run(train_arrays, SupervisedObjective(CrossEntropy()), RunCheckpoints(tmp_path / "a"), augment)
    assert full.stats["resumed_from_epoch"] == 0
    assert len(full.history) == 3

    store = RunCheckpoints(tmp_path / "b")
    with pytest.raises(Interrupted):
        run(train_arrays, InterruptAt(epoch=2), store, augment)
    assert torch.load(store.path(FP), weights_only=True)["epoch"] == 2

    resumed = run(train_arrays, SupervisedObjective(CrossEntropy()), store, augment)
    assert resumed.stats["resumed_from_epoch"] == 2
    assert compared(resumed.history) == compared(full.history)
    assert_same_state(resumed.model_state, full.model_state)
    # the weights really moved away from the initialisation
    assert not torch.equal(full.model_state["fc.weight"], make_model().state_dict()["fc.weight"])


def test_finished_run_is_not_trained_again_and_resume_false_retrains(tmp_path, train_arrays):
    store = RunCheckpoints(tmp_path / "runs")
    first = run(train_arrays, SupervisedObjective(CrossEntropy()), store)
    last_pt = store.path(FP).read_bytes()

    again = CountingObjective()
    rerun = run(train_arrays, again, store)
    assert again.calls == 0
    assert rerun.stats["resumed_from_epoch"] == 3
    assert compared(rerun.history) == compared(first.history)
    assert_same_state(rerun.model_state, first.model_state)
    assert store.path(FP).read_bytes() == last_pt

    fresh = CountingObjective()
    scratch = run(train_arrays, fresh, store, resume=False)
    assert scratch.stats["resumed_from_epoch"] == 0
    assert fresh.calls == 3 * first.history[0]["steps"]
    # training from scratch is deterministic on CPU: the same result again
    assert compared(scratch.history) == compared(first.history)
    assert_same_state(scratch.model_state, first.model_state)


def test_history_has_one_record_per_epoch_with_scheduled_lr(train_arrays):
    result = run(train_arrays, SupervisedObjective(CrossEntropy()), epochs=4, warmup_epochs=2, milestones=[3])
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]
    assert [r["lr"] for r in result.history] == pytest.approx([0.05, 0.1, 0.1, 0.01])
    for record in result.history:
        assert record["images"] == 200
        assert record["steps"] == 5  # ceil(200 / 48)
        assert 0.0 <= record["train_acc"] <= 1.0
        assert record["loss"] > 0
    assert result.stats["epochs"] == 4
    assert result.stats["device"] == "cpu"
    assert result.stats["precision"] == "32-true"


@pytest.mark.parametrize("log_every", [1, 50])
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, train_arrays, log_every):
    store = RunCheckpoints(tmp_path / "runs")
    with pytest.raises(Interrupted):
        run(train_arrays, InterruptAt(epoch=1), store, log_every=log_every)
    good = store.path(FP).read_bytes()
    assert torch.load(store.path(FP), weights_only=True)["epoch"] == 1

    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 3\b") as info:
        run(train_arrays, NaNAt(epoch=1, step=3), store, log_every=log_every)
    assert store.path(FP).read_bytes() == good
    assert sorted(p.name for p in store.path(FP).parent.iterdir()) == ["last.pt"]
    assert f"the last good checkpoint {store.path(FP)} (end of epoch 1) was kept" in str(info.value)


def test_non_finite_loss_from_scratch_names_epoch_and_step(train_arrays):
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 3\b") as info:
        run(train_arrays, NaNAt(epoch=1, step=3), log_every=50)
    # no store: nothing was ever saved, so no checkpoint may be claimed
    assert "no checkpoint exists (this run saves none)" in str(info.value)
    assert "was kept" not in str(info.value)


@pytest.mark.parametrize("log_every", [1, 50])
def test_a_nan_learning_rate_in_the_first_epoch_says_no_checkpoint_exists_and_where_it_would_be(
    tmp_path, train_arrays, log_every
):
    """``lr: .nan`` (refused by the parameter check, here forced past it): the loss is NaN in epoch 1."""
    store = RunCheckpoints(tmp_path / "runs")
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step \d+") as info:
        run(train_arrays, SupervisedObjective(CrossEntropy()), store, lr=float("nan"), log_every=log_every)
    message = str(info.value)
    assert f"no checkpoint exists: epoch 1 did not finish, so nothing was saved to {store.path(FP)}" in message
    assert "was kept" not in message and not store.path(FP).exists()


def test_a_nan_loss_after_resume_false_names_the_earlier_checkpoint_it_left_alone(tmp_path, train_arrays):
    store = RunCheckpoints(tmp_path / "runs")
    run(train_arrays, SupervisedObjective(CrossEntropy()), store, epochs=2)
    earlier = store.path(FP).read_bytes()
    with pytest.raises(NonFiniteLossError) as info:
        run(train_arrays, NaNAt(epoch=0, step=2), store, resume=False)
    assert store.path(FP).read_bytes() == earlier
    assert (
        f"this run saved no checkpoint; {store.path(FP)} is an earlier run's (not resumed: train.resume is false), "
        f"left as it was"
    ) in str(info.value)


def test_checkpoint_for_another_class_count_is_refused(tmp_path, train_arrays):
    store = RunCheckpoints(tmp_path / "runs")
    run(train_arrays, SupervisedObjective(CrossEntropy()), store, epochs=1)
    before = store.path(FP).read_bytes()
    with pytest.raises(CheckpointError, match="10 classes.*'resnet32' with 5 classes") as info:
        run(train_arrays, SupervisedObjective(CrossEntropy()), store, sig=signature(5), model=partial(make_model, 5))
    assert str(store.path(FP)) in str(info.value)
    assert store.path(FP).read_bytes() == before


def test_checkpoint_for_another_architecture_is_refused(tmp_path, train_arrays):
    store = RunCheckpoints(tmp_path / "runs")
    state = {"model": make_model().state_dict(), "epoch": 1, "model_signature": signature(name="resnet110")}
    atomic_save(state, store.path(FP))
    with pytest.raises(CheckpointError, match="'resnet110'"):
        run(train_arrays, SupervisedObjective(CrossEntropy()), store)


def test_checkpoint_with_other_model_options_is_refused(tmp_path, train_arrays):
    store = RunCheckpoints(tmp_path / "runs")
    other = model_signature("resnet32", NUM_CLASSES, widths=[16, 32, 64])
    atomic_save({"model": {}, "epoch": 1, "model_signature": other}, store.path(FP))
    with pytest.raises(CheckpointError, match="model options"):
        run(train_arrays, SupervisedObjective(CrossEntropy()), store)


def test_truncated_last_checkpoint_is_an_error_and_left_untouched(tmp_path, train_arrays):
    store = RunCheckpoints(tmp_path / "runs")
    run(train_arrays, SupervisedObjective(CrossEntropy()), store, epochs=1)
    data = store.path(FP).read_bytes()
    store.path(FP).write_bytes(data[: len(data) // 3])
    truncated = store.path(FP).read_bytes()
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        run(train_arrays, SupervisedObjective(CrossEntropy()), store)
    assert str(store.path(FP)) in str(info.value)
    assert store.path(FP).read_bytes() == truncated


def test_unknown_augment_key_names_it(train_arrays):
    with pytest.raises(ValueError, match=r"'augment\.crop'"):
        run(train_arrays, SupervisedObjective(CrossEntropy()), augment={"crop": 4})


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_cfg().epochs = 5  # type: ignore[misc]


@pytest.mark.slow  # spawns two gloo ranks: about 20 s
def test_ddp_spawned_inside_the_call_trains_on_two_cpu_ranks(tmp_path, train_arrays):
    """devices=2 spawns two gloo workers from inside fit (no torchrun); rank 0's result comes back."""
    store = RunCheckpoints(tmp_path / "runs")
    result = run(
        train_arrays,
        SupervisedObjective(CrossEntropy()),
        store,
        model=partial(make_model),
        epochs=2,
        devices=2,
        batch_size=32,
    )
    assert result.stats["world_size"] == 2
    assert [r["images"] for r in result.history] == [200, 200]  # two shards of 100 per epoch
    assert [r["steps"] for r in result.history] == [4, 4]  # ceil(100 / 32) steps per rank
    saved = torch.load(store.path(FP), weights_only=True)
    assert saved["epoch"] == 2
    assert_same_state(saved["model"], result.model_state)
    assert all(torch.isfinite(v.float()).all() for v in result.model_state.values())
