"""The step contract beyond classification: an opaque batch with label maps, metrics the objective chooses, Adam
over parameter groups, a per-step poly schedule and an EMA teacher updated in ``on_step_end`` (checkpointed)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from longtail_lab.engine.checkpoints import RunCheckpoints
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.step import MetricSums, Objective
from longtail_lab.engine.trainer import fit

IGNORE = 255
CLASSES = 3


@dataclass
class SegBatch:
    """What a segmentation family's source might yield: images [B, 3, H, W], label maps [B, H, W]."""

    images: torch.Tensor
    label_maps: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)


class SegSource:
    """18 tiny images whose pixels' class is visible in their colour; some pixels unlabelled (255)."""

    def __init__(self, device, seed: int, batch_size: int = 4) -> None:
        gen = torch.Generator().manual_seed(1)
        self.labels = torch.randint(0, CLASSES, (18, 6, 6), generator=gen)
        colours = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
        self.images = colours[self.labels].permute(0, 3, 1, 2) + 0.8 * torch.randn(18, 3, 6, 6, generator=gen)
        self.labels[:, 0, :] = IGNORE
        self.batch_size, self.order_gen = batch_size, torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-18 // self.batch_size)

    def epoch(self, epoch: int):
        order = torch.randperm(18, generator=self.order_gen)
        for idx in order.split(self.batch_size):
            yield SegBatch(self.images[idx], self.labels[idx])

    def state_dict(self) -> dict:
        return {"order_gen": self.order_gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.order_gen.set_state(state["order_gen"])


class TinySegNet(nn.Module):
    """A backbone and a decoder that declare their own parameter groups (decoder at lr x 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 8, 3, padding=1)
        self.decoder = nn.Conv2d(8, CLASSES, 1)

    def forward(self, x):
        return self.decoder(F.relu(self.backbone(x)))

    def param_groups(self):
        return [
            {"params": list(self.backbone.parameters())},
            {"params": list(self.decoder.parameters()), "lr_mult": 10},
        ]


class EmaTeacherObjective(Objective):
    """Cross-entropy on labelled pixels plus consistency with an EMA teacher (STAL-like self-training in small).

    The teacher is a copy of the student made at the first step and updated after every optimiser step."""

    def __init__(self, momentum: float = 0.9, stop_epoch: int | None = None) -> None:
        self.momentum, self.stop_epoch = momentum, stop_epoch
        self.teacher: nn.Module | None = None
        self.pending: dict | None = None
        self.updates, self.lrs = 0, []

    def loss(self, model, batch: SegBatch, epoch):
        if epoch == self.stop_epoch:
            raise KeyboardInterrupt(f"killed in epoch {epoch + 1}")
        if self.teacher is None and self.pending is not None:  # resumed: the checkpointed teacher
            self._make_teacher(model).load_state_dict(self.pending)
        logits = model(batch.images)
        supervised = F.cross_entropy(logits, batch.label_maps, ignore_index=IGNORE)
        if self.teacher is None:
            return supervised, self._metrics(logits, batch)
        with torch.no_grad():
            target = self.teacher(batch.images).softmax(1)
        consistency = F.mse_loss(logits.softmax(1), target)
        return supervised + consistency, {**self._metrics(logits, batch), "consistency": consistency.detach()}

    @staticmethod
    def _metrics(logits, batch):
        labelled = batch.label_maps != IGNORE
        return {"pixel_acc": (logits.argmax(1) == batch.label_maps)[labelled]}  # observations: labelled pixels

    def _make_teacher(self, model) -> nn.Module:
        self.teacher = copy.deepcopy(getattr(model, "module", model)).requires_grad_(False)
        return self.teacher

    def on_step_end(self, step, epoch, model, ctx):
        student = getattr(model, "module", model)
        if self.teacher is None:  # the first step: the teacher starts as the student
            self._make_teacher(model)
            return
        with torch.no_grad():
            for t, s in zip(self.teacher.parameters(), student.parameters(), strict=True):
                t.mul_(self.momentum).add_(s.detach(), alpha=1 - self.momentum)
        self.updates += 1

    def state_dict(self):
        return {"teacher": None if self.teacher is None else self.teacher.state_dict(), "updates": self.updates}

    def load_state_dict(self, state):
        self.pending, self.updates = state["teacher"], state["updates"]


def config(**overrides) -> TrainConfig:
    values = {
        "epochs": 3,
        "batch_size": 4,
        "optimizer": "adam",
        "lr": 0.01,
        "weight_decay": 0.0,
        "schedule": "poly",
        "interval": "step",
        "warmup_epochs": 1,
        "milestones": [],
        "accelerator": "cpu",
        "progress": False,
        "log_every": 2,
        **overrides,
    }
    return TrainConfig.from_params(values)


def train(objective, store=None, cfg=None):
    return fit(
        TinySegNet,
        lambda device, rank, world_size: SegSource(device, seed=7),
        objective,
        cfg or config(),
        {"name": "tiny_seg"},
        store,
        "e" * 16 if store else None,
    )


def test_ema_teacher_adam_and_per_step_poly_resume_bit_exactly(tmp_path):
    full_objective = EmaTeacherObjective()
    full = train(full_objective, RunCheckpoints(tmp_path / "full"))
    store = RunCheckpoints(tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        train(EmaTeacherObjective(stop_epoch=2), store)
    assert torch.load(store.path("e" * 16), weights_only=True)["epoch"] == 2
    resumed_objective = EmaTeacherObjective()
    resumed = train(resumed_objective, store)
    assert resumed.stats["resumed_from_epoch"] == 2
    for key, value in full.model_state.items():
        assert torch.equal(value, resumed.model_state[key]), key
    for key, value in full_objective.teacher.state_dict().items():
        assert torch.equal(value, resumed_objective.teacher.state_dict()[key]), key
    assert resumed_objective.updates == full_objective.updates == 3 * 5 - 1  # every step but the first
    assert resumed.history == [
        {**r, "time_s": s["time_s"], "images_per_s": s["images_per_s"]}
        for r, s in zip(full.history, resumed.history, strict=True)
    ]


def test_history_holds_the_objectives_metrics_and_the_per_step_schedule(tmp_path):
    result = train(EmaTeacherObjective(), cfg=config(epochs=2, warmup_epochs=0))
    first, second = result.history
    assert set(first) >= {"loss", "pixel_acc", "consistency", "lr", "steps", "images"}
    assert first["steps"] == second["steps"] == 5 and first["images"] == 18
    for record in (first, second):  # the mean over the epoch's 18 x 5 x 6 labelled pixels: a count / 540
        assert record["pixel_acc"] * 540 == pytest.approx(round(record["pixel_acc"] * 540), abs=1e-9)
    # per-step poly over 10 steps: the first lr of epoch 2 is lr * (1 - 5/10) ** 0.9
    assert first["lr"] == pytest.approx(0.01) and second["lr"] == pytest.approx(0.01 * 0.5**0.9)


def test_parameter_groups_declared_by_the_model_reach_the_optimiser():
    seen = {}

    class Spy(EmaTeacherObjective):
        def on_step_end(self, step, epoch, model, ctx):
            seen.setdefault("steps", []).append(step)
            super().on_step_end(step, epoch, model, ctx)

    train(Spy(), cfg=config(epochs=1, warmup_epochs=0, interval="epoch", schedule="constant"))
    assert seen["steps"] == [0, 1, 2, 3, 4]  # global 0-based steps, after each optimiser step


def test_metric_sums_weight_scalars_by_batch_size_and_count_observations_exactly():
    sums = MetricSums(torch.device("cpu"))
    sums.add({"loss": torch.tensor(1.0), "acc": torch.tensor([True, False, True])}, 3)
    sums.add({"loss": torch.tensor(4.0), "acc": torch.tensor([True])}, 1)
    means = sums.means()
    assert means["loss"] == pytest.approx((3 * 1.0 + 4.0) / 4)
    assert means["acc"] == 0.75
    big = MetricSums(torch.device("cpu"))
    for _ in range(3):
        big.add({"px": torch.ones(2**24, dtype=torch.bool)}, 1)  # beyond float32's exact integers
    assert big.sums["px"].item() == 3 * 2**24 and big.means()["px"] == 1.0
