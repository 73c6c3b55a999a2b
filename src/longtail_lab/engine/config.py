"""Typed training settings: one parameter block, every bad key named with its full dotted path."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

from longtail_lab.params import MAX_SEED, ParamBlock, Problems, setting

# Settings added after the first release, with the value every earlier run had.
ADDED_LATER = {"optimizer": "sgd", "betas": [0.9, 0.999], "interval": "epoch", "power": 0.9}

PRECISIONS = Literal["auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "64-true"]


@dataclass(frozen=True, kw_only=True)
class TrainConfig(ParamBlock):
    epochs: int = setting(200, ge=1)
    batch_size: int = setting(128, ge=1)
    # sgd (momentum, nesterov) or adam / adamw (betas); the lr of every parameter group the model or the
    # objective declares is lr x its multiplier
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = setting(0.1, gt=0)
    momentum: float = setting(0.9, ge=0, lt=1)
    nesterov: bool = False
    betas: tuple[float, float] = setting((0.9, 0.999), ge=0, lt=1)
    weight_decay: float = setting(5e-4, ge=0)
    warmup_epochs: int = setting(5, ge=0)
    schedule: Literal["multistep", "cosine", "poly", "constant"] = "multistep"
    # epoch: the schedule steps once per epoch; step: after every optimiser step (warm-up and milestones are
    # still given in epochs and scaled by the steps per epoch)
    interval: Literal["epoch", "step"] = "epoch"
    power: float = setting(0.9, gt=0)  # of the poly schedule: (1 - progress) ** power
    # Epochs at which the lr is multiplied by gamma (multistep), or fractions of ``epochs`` in (0, 1) that
    # follow a shortened run: epoch = floor(fraction * epochs), e.g. [0.5, 0.8, 0.9] of 400 = 200/320/360.
    milestones: tuple[int | float, ...] = setting((160, 180), gt=0)
    gamma: float = setting(0.1, gt=0, le=1)
    seed: int = setting(0, ge=0, le=MAX_SEED)
    accelerator: Literal["auto", "cpu", "cuda", "gpu"] = "auto"
    devices: int = setting(1, ge=1)  # > 1: DDP spawned inside the training node
    precision: PRECISIONS = "auto"  # auto = bf16-mixed on CUDA, 32-true on CPU
    channels_last: bool = True  # used on CUDA only
    # torch.compile the model for training (inductor). Off: on the 2-core CPU a SADE+RL step took 3.15 s compiled
    # against 2.21 s eager, after 131 s of compilation (benchmarks/cpu_speed.py); not measured on a GPU yet.
    compile: bool = False
    # CPU threads of the training process ("auto": see ``engine.threads.resolve_threads``).
    num_threads: int | Literal["auto"] = setting("auto", ge=1)
    log_every: int = setting(50, ge=1)  # steps between progress refreshes (host syncs inside an epoch) ...
    log_interval_s: float = setting(30.0, gt=0)  # ... or when this many seconds have passed, whichever first
    resume: bool = True
    progress: bool = True

    @classmethod
    def from_params(cls, params, prefix: str = "train") -> TrainConfig:
        """Parse; fractional milestones come back resolved to epochs (see :meth:`milestone_epochs`)."""
        return super().from_params(params, prefix)

    def fingerprint_dict(self, leave_out: tuple[str, ...] = ()) -> dict:
        """The settings that make a run what it is, for its fingerprint: without ``leave_out``, and without the
        settings added after the first release while they keep their defaults, so the runs of that release
        keep their fingerprints (and resume)."""
        values = self.to_dict()
        for key, default in ADDED_LATER.items():
            if values.get(key) == default:
                values.pop(key)
        return {k: v for k, v in values.items() if k not in leave_out}

    def milestone_epochs(self) -> tuple[int, ...]:
        """The milestones as epochs: fractions f of the run become floor(f * epochs)."""
        if any(isinstance(m, float) for m in self.milestones):
            return tuple(math.floor(m * self.epochs + 1e-9) for m in self.milestones)
        return tuple(int(m) for m in self.milestones)

    def normalized(self) -> TrainConfig:
        return dataclasses.replace(self, milestones=self.milestone_epochs())

    def cross_check(self, prefix: str) -> Problems:
        problems: Problems = []
        if self.optimizer != "sgd" and self.nesterov:
            problems.append((f"{prefix}.nesterov", f"is an SGD setting; train.optimizer is {self.optimizer!r}"))
        key = f"{prefix}.milestones"
        floats = [m for m in self.milestones if isinstance(m, float)]
        if floats and (len(floats) != len(self.milestones) or not all(0 < m < 1 for m in floats)):
            problems.append(
                (
                    key,
                    f"must be all epochs (integers) or all fractions of the run in (0, 1), got {list(self.milestones)}",
                )
            )
            return problems
        epochs = self.milestone_epochs()
        shown = "/".join(str(m) for m in epochs)
        if floats:
            shown = f"{'/'.join(f'{m:g}' for m in self.milestones)} of {self.epochs} epochs = {shown}"
        if self.schedule == "multistep" and epochs:
            if list(epochs) != sorted(epochs):
                problems.append((key, f"must be in increasing order, got {shown}"))
            elif epochs[0] < 1 or epochs[-1] >= self.epochs:
                problems.append(
                    (
                        key,
                        f"must fall inside the {self.epochs}-epoch run (1 <= milestone < epochs), got {shown}; "
                        f"give them as fractions of the run (e.g. [0.5, 0.8, 0.9]) so they follow train.epochs, "
                        f"or use train.schedule=cosine",
                    )
                )
        if self.warmup_epochs and self.warmup_epochs >= self.epochs:
            problems.append(
                (
                    f"{prefix}.warmup_epochs",
                    f"= {self.warmup_epochs} does not fit a {self.epochs}-epoch run (the warm-up would take the "
                    f"whole run); it must be < train.epochs, e.g. --params {prefix}.warmup_epochs="
                    f"{min([self.epochs - 1, *epochs[:1]])}",
                )
            )
        elif self.schedule == "multistep" and epochs and self.warmup_epochs > epochs[0] and not problems:
            problems.append(
                (
                    f"{prefix}.warmup_epochs",
                    f"= {self.warmup_epochs} ends after the first lr decay at epoch {epochs[0]} (milestones {shown}); "
                    f"it must be <= the first milestone, e.g. --params {prefix}.warmup_epochs={epochs[0]}",
                )
            )
        return problems
